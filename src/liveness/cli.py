"""The `liveness` command: one entry point, each subcommand a thin wrapper over a library call."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from liveness import __version__


def _synth(args: argparse.Namespace) -> int:
    from liveness.config import SynthConfig
    from liveness.synth.generate import generate_dataset
    from liveness.synth.preview import write_contact_sheets

    cfg = SynthConfig(width=args.width, height=args.height)
    rows = generate_dataset(args.out, args.clips, args.seed, workers=args.workers, cfg=cfg)
    counts: dict[str, int] = {}
    for r in rows:
        counts[f"{r.split}/{r.attack}"] = counts.get(f"{r.split}/{r.attack}", 0) + 1
    print(
        f"wrote {len(rows)} clips to {args.out}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    if args.preview:
        for p in write_contact_sheets(args.out):
            print(f"contact sheet: {p}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from liveness.synth.preview import write_contact_sheets

    for p in write_contact_sheets(args.dataset, args.out, rows=args.rows):
        print(f"contact sheet: {p}")
    return 0


def _baseline(args: argparse.Namespace) -> int:
    from liveness.baseline import evaluate_baseline, format_report

    report = evaluate_baseline(args.dataset, split=args.split, workers=args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liveness", description=__doc__)
    p.add_argument("--version", action="version", version=f"liveness {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate synthetic live and attack clips with a manifest")
    s.add_argument("--out", required=True, help="dataset directory to write")
    s.add_argument("--clips", type=int, required=True, help="number of clips")
    s.add_argument("--seed", type=int, default=0, help="same seed, same bytes")
    s.add_argument(
        "--workers", type=int, default=1, help="processes (output does not depend on it)"
    )
    s.add_argument("--width", type=int, default=120, help="render width in pixels (portrait)")
    s.add_argument("--height", type=int, default=160, help="render height in pixels")
    s.add_argument(
        "--preview", action="store_true", help="also write contact sheets to OUT/preview"
    )
    s.set_defaults(func=_synth)

    v = sub.add_parser("preview", help="contact sheets of a dataset, one PNG per class")
    v.add_argument("dataset")
    v.add_argument("--out", default=None, help="directory (default DATASET/preview)")
    v.add_argument("--rows", type=int, default=6, help="clips per sheet")
    v.set_defaults(func=_preview)

    b = sub.add_parser("baseline", help="non-learned physics baseline: AUC per attack species")
    b.add_argument("dataset")
    b.add_argument("--split", default="test", help="train|val|test|all")
    b.add_argument("--workers", type=int, default=1)
    b.add_argument("--json", default=None, help="also write the report as JSON here")
    b.set_defaults(func=_baseline)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"liveness {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
