"""Benchmark `liveness synth`: clips per second and peak memory, per worker count, one run.

Usage: python bench/bench_synth.py [--clips 200] [--workers 1 2] [--out DIR]
Prints a Markdown table; numbers go to docs/SYNTH.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(clips: int, workers: int, seed: int, out: Path) -> tuple[float, float, float]:
    """Generate in a child process; returns (seconds, peak RSS of the main process and of the
    largest worker, MiB). A child keeps the measurement free of this process's own memory."""
    code = (
        "import resource, sys;"
        "from liveness.synth.generate import generate_dataset;"
        f"generate_dataset({str(out)!r}, {clips}, {seed}, workers={workers}, progress=False);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t0
    main_kb, child_kb = (int(x) for x in res.stdout.split()[-2:])
    return dt, main_kb / 1024, child_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--out", default=None, help="scratch directory (default: a temp dir)")
    args = ap.parse_args()
    scratch = Path(args.out or tempfile.mkdtemp(prefix="bench-synth-"))
    py = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {py}")
    print(f"clips per run: {args.clips}, seed {args.seed}\n")
    print(
        "| workers | seconds | clips/s | 5,000 clips would take "
        "| peak RSS main / worker (MiB) | disk per clip (KiB) |"
    )
    print("|---|---|---|---|---|---|")
    for w in args.workers:
        out = scratch / f"w{w}"
        shutil.rmtree(out, ignore_errors=True)
        dt, rss_main, rss_child = run_once(args.clips, w, args.seed, out)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / args.clips / 1024
        rate = args.clips / dt
        print(
            f"| {w} | {dt:.1f} | {rate:.2f} | {5000 / rate / 60:.1f} min | "
            f"{rss_main:.0f} / {rss_child:.0f} | {size:.0f} |"
        )
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
