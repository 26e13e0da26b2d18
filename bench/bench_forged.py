"""Forged sensor rows through the service (issue 12, item 1): frames recorded while the phone
made one move, sent with gyro rows recorded for the move the session asked for.

    python bench/bench_forged.py [--n 40] [--width 240 --height 320] [--model FILE]

Each try renders two live captures (synth.sequence) of different subjects: A making the move
`asked` and B making another move; B's frames go with A's sensor rows to a session whose
challenge is `asked`, so the challenge is "followed" by the gyro. The motion agreement must
refuse it. The unedited captures A are sent too, as the genuine control. Prints a table.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from liveness.config import SynthConfig
from liveness.predict import load_predictor
from liveness.server.app import create_app
from liveness.server.settings import ServerSettings
from liveness.synth.sequence import render_sequence

MOVES = ("left", "right", "up", "down")


def _form(frames: np.ndarray, t_ms: np.ndarray, imu: np.ndarray) -> dict[str, Any]:
    def jpeg(f: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, format="JPEG", quality=90)
        return buf.getvalue()

    return {
        "frames": [
            (io.BytesIO(jpeg(f)), f"{i:05d}.jpg", "image/jpeg") for i, f in enumerate(frames)
        ],
        "frames_t_ms": json.dumps(np.asarray(t_ms).tolist()),
        "imu": json.dumps(np.asarray(imu).tolist()),
    }


def run(
    n: int,
    width: int,
    height: int,
    seed: int = 100,
    progress: bool = True,
    model: str | None = None,
) -> dict[str, Any]:
    """n forged tries and n genuine controls through the service (the model file `model`, None:
    the bundled one); outcome counts and bodies."""
    cfg = SynthConfig(width=width, height=height)
    predictor = load_predictor(model)
    out: dict[str, Any] = {"forged": [], "genuine": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in tqdm(range(n), desc="forged", disable=not progress):
            rng = np.random.default_rng([seed, k])
            asked, other = rng.choice(MOVES, 2, replace=False)
            a = render_sequence([str(asked)], seed * 1000 + 2 * k, cfg)
            b = render_sequence([str(other)], seed * 1000 + 2 * k + 1, cfg)
            assert a.imu is not None
            # B's frames on A's clock: the forged upload is self-consistent in time.
            t_b = b.frame_t_ms - b.frame_t_ms[0] + a.frame_t_ms[0]
            for kind, frames, t in (("forged", b.frames, t_b), ("genuine", a.frames, a.frame_t_ms)):
                settings = ServerSettings(
                    challenges=(str(asked),), sessions_url=f"sqlite:///{Path(tmp) / 's.db'}",
                    rate_limit=0,
                )  # fmt: skip
                client = create_app(settings, predictor).test_client()
                sid = client.post("/api/v1/sessions").get_json()["session_id"]
                r = client.post(f"/api/v1/sessions/{sid}/check", data=_form(frames, t, a.imu))
                out[kind].append({"status": r.status_code, **(r.get_json() or {})})
    return out


def summarize(res: dict[str, Any]) -> list[str]:
    lines = ["| upload | n | challenge followed | motion agrees | live | refused |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for kind, bodies in res.items():
        ok = [b for b in bodies if b["status"] == 200]
        fol = sum(b["challenge"]["followed"] for b in ok)
        agree = sum(bool(b.get("motion") and b["motion"]["agrees"]) for b in ok)
        live = sum(b["live"] for b in ok)
        refused = len(bodies) - live
        share = 100 * refused / max(len(bodies), 1)
        lines.append(f"| {kind} | {len(bodies)} | {fol} | {agree} | {live} | "
                     f"{refused} ({share:.1f} %) |")  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--width", type=int, default=240)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--seed", type=int, default=100, help="another seed, other captures")
    ap.add_argument("--json", default=None, help="also write every answer here")
    ap.add_argument("--model", default=None, help="model file (default: the bundled one)")
    args = ap.parse_args()
    res = run(args.n, args.width, args.height, seed=args.seed, model=args.model)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    print(f"{args.n} tries at {args.width}x{args.height}, seed {args.seed}, "
          f"{args.model or 'bundled model'}")  # fmt: skip
    print("\n".join(summarize(res)))


if __name__ == "__main__":
    main()
