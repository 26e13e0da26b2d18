"""Fuzz the HTTP API: schemathesis over the OpenAPI document, then the corpus and parser fuzzers.

Usage: python bench/fuzz_api.py [--cases 2400] [--seed 6] [--examples 1000] [--no-docs]
Runs the app in-process (Flask/WSGI, the bundled model, rate limit off): `--cases` generated
requests spread over every operation (positive and negative data), most checks against a fresh
session; then `pytest tests/test_hardening_corpus.py tests/test_hardening_fuzz.py` with
LIVENESS_FUZZ_EXAMPLES=`--examples`. Prints a summary and rewrites the fuzz section of
docs/HARDENING.md. The CI subset (tests/test_hardening_fuzz.py) calls run_schemathesis too.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "HARDENING.md"
CHECK_OP = "POST /api/v1/sessions/{session_id}/check"


@dataclass
class FuzzSummary:
    """What one schemathesis run saw: cases, status histogram, 5xx and schema violations."""

    cases: int = 0
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        ops = sorted({op for op, _ in self.statuses})
        rows = ["| operation | cases | status codes |", "|---|---|---|"]
        for op in ops:
            hist = {s: n for (o, s), n in self.statuses.items() if o == op}
            codes = ", ".join(f"{s}: {n}" for s, n in sorted(hist.items()))
            rows.append(f"| `{op}` | {sum(hist.values())} | {codes} |")
        rows.append(
            f"| **all** | **{self.cases}** | 5xx: **{len(self.server_errors)}**, schema "
            f"violations: **{len(self.violations)}** |"
        )
        return "\n".join(rows) + "\n"


def make_app(db_dir: Path, predictor: Any = None) -> Any:
    """The service in-process with the bundled model, rate limit off (it would answer 429s)."""
    from liveness.predict import BUNDLED, load_predictor
    from liveness.server.app import create_app
    from liveness.server.settings import ServerSettings

    if predictor is None:
        predictor = load_predictor(BUNDLED, threads=1)
    settings = ServerSettings(sessions_url=f"sqlite:///{db_dir / 's.sqlite3'}", rate_limit=0)
    return create_app(settings, predictor)


def run_schemathesis(app: Any, cases: int, seed: int) -> FuzzSummary:
    """About `cases` generated requests over all operations; every response checked for 5xx and
    against the document (status code, content type, headers, body schema)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from liveness.server.openapi import openapi_document

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_dict(openapi_document())
    schema.app = app
    ops = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    with_inputs = [op for op in ops if op.body or op.path_parameters]
    per_op = max(1, (cases - (len(ops) - len(with_inputs))) // max(1, 2 * len(with_inputs)))
    out = FuzzSummary()
    client = app.test_client()
    t0 = time.perf_counter()
    for op in ops:
        modes = [schemathesis.GenerationMode.POSITIVE]
        if op in with_inputs:
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:
            n = per_op if op in with_inputs else 1

            @hypothesis_seed(seed)
            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=n, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def one(case: Any) -> None:
                label = case.operation.label
                if label == CHECK_OP and out.cases % 4:  # 3 in 4 reach a live session
                    sid = client.post("/api/v1/sessions").get_json()["session_id"]
                    case.path_parameters = {"session_id": sid}
                resp = case.call(app=app)
                out.cases += 1
                out.statuses[(label, resp.status_code)] += 1
                try:
                    case.validate_response(resp, checks=checks)
                except (Exception, BaseExceptionGroup) as e:  # FailureGroup: keep its title
                    msg = f"{label} -> {resp.status_code}: {str(e).strip().splitlines()[0]}"
                    bucket = out.server_errors if resp.status_code >= 500 else out.violations
                    bucket.append(msg)

            try:
                one()
            except Exception as e:  # Unsatisfiable: nothing to negate in this operation
                if type(e).__name__ != "Unsatisfiable":
                    raise
    out.seconds = time.perf_counter() - t0
    return out


def run_pytest(examples: int) -> tuple[int, str]:
    """The hand-made corpus and the hypothesis parser fuzzers, with more examples than CI."""
    env = dict(os.environ, LIVENESS_FUZZ_EXAMPLES=str(examples))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "tests/test_hardening_corpus.py", "tests/test_hardening_fuzz.py"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    last = [ln for ln in done.stdout.splitlines() if re.search(r"passed|failed|error", ln)]
    return done.returncode, (last[-1] if last else done.stdout[-500:])


def write_section(name: str, text: str, doc: Path = DOC) -> None:
    """Replace what lies between <!-- name:begin --> and <!-- name:end --> in the doc."""
    body = doc.read_text(encoding="utf-8")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(body):
        raise SystemExit(f"{doc}: no {begin} ... {end} markers")
    doc.write_text(pattern.sub(lambda _: f"{begin}\n{text}{end}", body), encoding="utf-8")


def machine() -> str:
    load = os.getloadavg()[0]
    return (
        f"{platform.node()} ({platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, load {load:.1f} at start), "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=2400, help="schemathesis requests in all")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--examples", type=int, default=1000, help="per hypothesis property")
    ap.add_argument("--no-docs", action="store_true", help="print only")
    args = ap.parse_args()
    where = machine()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as d:
        summary = run_schemathesis(make_app(Path(d)), args.cases, args.seed)
    print(summary.table())
    for line in (summary.server_errors + summary.violations)[:20]:
        print("  ", line)
    rc, tail = run_pytest(args.examples)
    print(f"corpus + parser fuzzers ({args.examples} examples per property): {tail}")
    command = "python bench/fuzz_api.py " + " ".join(sys.argv[1:])
    text = (
        f"Run {started:%Y-%m-%d %H:%M} UTC on {where}. Command: `{command.strip()}` "
        f"({summary.seconds:.0f} s for the schemathesis part).\n\n"
        f"Schemathesis {_version('schemathesis')}, seed {args.seed}, positive and negative "
        "data, checks: not_a_server_error, status_code_conformance, content_type_conformance, "
        "response_headers_conformance, response_schema_conformance.\n\n"
        + summary.table()
        + "\n"
        + "".join(f"- {x}\n" for x in (summary.server_errors + summary.violations)[:20])
        + f"\nCorpus and hypothesis parser fuzzers ({args.examples} examples per property, "
        f"`LIVENESS_FUZZ_EXAMPLES={args.examples} pytest tests/test_hardening_corpus.py "
        f"tests/test_hardening_fuzz.py`): {tail}\n"
    )
    if not args.no_docs:
        write_section("fuzz", text)
        print(f"wrote {DOC}")
    bad = summary.server_errors or summary.violations or rc != 0
    sys.exit(1 if bad else 0)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
