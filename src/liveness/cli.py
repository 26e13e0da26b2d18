"""The `liveness` command: one entry point, each subcommand a thin wrapper over a library call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from liveness import __version__, commands


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
    s.add_argument(
        "--preset",
        choices=("training", "shifted", "base"),
        default="training",
        help="training: wide per-clip ranges (default); shifted: settings outside them, a "
        "stand-in for an unseen camera; base: the first generator's settings, to remake "
        "datasets made before the presets (docs/SYNTH.md)",
    )
    s.add_argument(
        "--width",
        type=int,
        default=None,
        help="render every clip this wide, px (default: the preset's sizes, per clip)",
    )
    s.add_argument(
        "--height",
        type=int,
        default=None,
        help="render every clip this high, px (with one of the two, 3:4 portrait)",
    )
    s.add_argument(
        "--stabilised",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of clips filmed with electronic stabilisation: the image without the "
        "hand's tremor and most of its sway, the IMU with them (default: the preset's, 0)",
    )
    s.add_argument(
        "--filtered-walls",
        action="store_true",
        help="average the wall's texture over each pixel's footprint, as a sensor does, "
        "instead of one texel per ray (which aliases; off in every preset so far)",
    )
    s.add_argument(
        "--preview", action="store_true", help="also write contact sheets to OUT/preview"
    )
    s.set_defaults(func=commands.cmd_synth)

    v = sub.add_parser("preview", help="contact sheets of a dataset, one PNG per class")
    v.add_argument("dataset")
    v.add_argument("--out", default=None, help="directory (default DATASET/preview)")
    v.add_argument("--rows", type=int, default=6, help="clips per sheet")
    v.set_defaults(func=commands.cmd_preview)

    b = sub.add_parser("baseline", help="non-learned physics baseline: AUC per attack species")
    b.add_argument("dataset")
    b.add_argument("--split", default="test", help="train|val|test|all")
    b.add_argument("--workers", type=int, default=1)
    b.add_argument("--json", default=None, help="also write the report as JSON here")
    b.set_defaults(func=commands.cmd_baseline)
    t = sub.add_parser("train", help="train the liveness network (works under torchrun)")
    t.add_argument("--data", required=True, help="dataset directory with manifest.csv")
    t.add_argument("--out", required=True, help="run directory: checkpoints, curves")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--frames", type=int, default=16, help="frames per clip the model sees")
    t.add_argument("--image-size", type=int, default=96, help="model input, pixels")
    t.add_argument("--width-mult", type=float, default=0.5, help="MobileNetV3-Small width")
    t.add_argument("--modalities", choices=["fused", "video", "imu"], default="fused")
    t.add_argument("--imu-dropout", type=float, default=0.15, help="modality dropout rate")
    t.add_argument("--imu-swap", type=float, default=0.0, help="live clips given wrong IMU")
    t.add_argument("--crop-scale", type=float, default=1.0, help="crop: share of the square")
    t.add_argument("--zoom", type=float, default=0.0, help="training crops (1 + zoom)x either way")
    t.add_argument(
        "--camera-aug", type=float, default=0.0, help="chance of each camera change (augment.py)"
    )
    t.add_argument(
        "--camera-levels", type=float, default=0.0, help="camera aug: black/white points moved"
    )
    t.add_argument(
        "--white-balance", action="store_true", help="grey-world per clip (preprocess.py)"
    )
    t.add_argument("--block-flow", action="store_true", help="add block-wise LK motion features")
    t.add_argument("--motion-aux", action="store_true", help="ego-motion head + gyro supervision")
    t.add_argument(
        "--skip-attacks",
        default="",
        help="comma-separated species left out of training and model choice (e.g. injection)",
    )
    t.add_argument("--threads", type=int, default=0, help="torch threads per process")
    t.add_argument("--workers", type=int, default=0, help="data loader processes")
    t.add_argument("--max-steps", type=int, default=0, help="stop early (smoke tests)")
    t.add_argument("--resume", default=None, help="continue from a last.pt")
    t.set_defaults(func=commands.cmd_train)

    r = sub.add_parser("predict", help="score clips; JSON lines with --json (see CONTRACT.md)")
    r.add_argument("clips", nargs="+", help="clip directories")
    r.add_argument("--model", default=None, help="model file (default: the bundled model)")
    r.add_argument("--json", action="store_true", help="one JSON object per clip per line")
    r.add_argument("--batch-size", type=int, default=8)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--no-face-check", action="store_true", help="score even without a face")
    r.set_defaults(func=commands.cmd_predict)

    x = sub.add_parser("export", help="export to ONNX / TFLite / INT8 TFLite, parity-checked")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", required=True, help="directory: model.onnx, model.tflite, ...")
    x.add_argument("--formats", default="onnx,tflite,int8", help="comma list of onnx,tflite,int8")
    x.add_argument("--data", default=None, help="dataset: INT8 calibration (its train split) and, "
                   "without --parity-data, the held-out clips (its --split)")  # fmt: skip
    x.add_argument("--parity-data", default=None, metavar="DIR[:SPLIT][,DIR[:SPLIT]...]",
                   help="held-out clip sets the parity check runs on, each checked on its own "
                   "(SPLIT: train|val|test|all, default --split)")  # fmt: skip
    x.add_argument("--split", default="val", help="split the parity check runs on")
    x.add_argument("--clips", type=int, default=200, help="held-out clips per set (at most)")
    x.add_argument("--calib-clips", type=int, default=64, help="train clips for INT8 calibration")
    x.set_defaults(func=commands.cmd_export)

    e = sub.add_parser("evaluate", help="ISO/IEC 30107-3 report of the decision path on a split")
    e.add_argument("--checkpoint", "--model", dest="checkpoint", required=True, help="model file")
    e.add_argument("--data", required=True)
    e.add_argument("--out", required=True, help="report directory")
    e.add_argument("--split", default="test")
    e.add_argument(
        "--shifted",
        default=None,
        help="a set generated outside the training ranges, reported beside",
    )
    e.add_argument("--shifted-split", default="all")
    e.add_argument("--workers", type=int, default=0)
    e.set_defaults(func=commands.cmd_evaluate)

    c = sub.add_parser("calibrate", help="fit fusion + threshold on a split, into the model file")
    c.add_argument("--model", "--checkpoint", dest="model", required=True, help=".pt/.onnx/.tflite")
    c.add_argument("--data", required=True, help="dataset(s), comma-separated, pooled")
    c.add_argument("--split", default="val")
    c.add_argument("--rule", default=None, choices=("balanced", "apcer", "bpcer"),
                   help="balanced (APCER = BPCER, the default), apcer or bpcer")  # fmt: skip
    c.add_argument("--apcer", type=float, default=None, help="hold worst-species APCER <= this")
    c.add_argument("--bpcer", type=float, default=None, help="refuse at most this share of live")
    c.add_argument("--no-fusion", action="store_true", help="threshold only, network score")
    c.add_argument("--no-motion-gate", action="store_true",
                   help="fuse disagreeing captures, do not refuse them")  # fmt: skip
    c.add_argument("--gate-bpcer", type=float, default=None,
                   help="the gate may refuse at most this share of genuine captures by itself: "
                   "weak-correlation ones above the level this sets are fused (default: refuse "
                   "every disagreeing capture)")  # fmt: skip
    c.add_argument("--relief", action="store_true",
                   help="also fuse the face-flatness cue: fewer prints and replays accepted, "
                   "more genuine users refused at the same rule (docs/MOTION.md)")  # fmt: skip
    c.add_argument("--flat-gate", type=float, default=None, metavar="Q",
                   help="with sensors, refuse a capture whose scene moved as one plane: below the "
                   "Q-quantile of genuine captures' flatness cue (0: their smallest)")  # fmt: skip
    c.add_argument("--near-gate", type=float, default=None, metavar="Q",
                   help="with sensors, refuse a capture whose room reads as near as a print held "
                   "before the phone and whose scene moved as one plane: flatter than the "
                   "Q-quantile of genuine captures' (docs/MOTION.md)")  # fmt: skip
    c.add_argument("--scene-gate", type=float, default=None, metavar="Q",
                   help="with sensors, refuse a capture whose scene moves beyond what the phone's "
                   "own motion explains, as a replayed recording does: above all but the "
                   "Q share of genuine captures' misfit (docs/MOTION.md)")  # fmt: skip
    c.add_argument("--motion", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a motion-check setting (MotionConfig) first, e.g. lead_weight=4; "
                   "written into the file with the fusion and threshold (repeatable)")  # fmt: skip
    c.set_defaults(func=commands.cmd_calibrate)

    m = sub.add_parser("motion", help="motion agreement of clips (video vs gyro), with plots")
    m.add_argument("clips", nargs="+")
    m.add_argument("--model", default=None,
                   help="whose motion settings (default: the bundled model)")  # fmt: skip
    m.add_argument("--json", action="store_true")
    m.add_argument("--plot", default=None,
                   help="directory for <clip>_motion.png and <clip>_relief.png")  # fmt: skip
    m.set_defaults(func=commands.cmd_motion)

    sv = sub.add_parser("serve", help="run the HTTP service (API, capture page) under gunicorn")
    sv.add_argument("--model", default=None, help="model file (default: the bundled model)")
    sv.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to reach it from a phone")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=2, help="processes, one model each")
    sv.add_argument("--threads", type=int, default=1, help="model threads per worker")
    sv.add_argument("--sessions", default=None, help="sqlite:///PATH or redis://HOST:PORT/DB")
    sv.add_argument("--challenges", default="pairs", help="single|pairs|triples or ids, comma-sep")
    sv.add_argument("--session-ttl", type=float, default=180.0, help="seconds")
    sv.add_argument("--rate-limit", type=int, default=60, help="POSTs per client per minute, 0=off")
    sv.add_argument("--trusted-proxies", type=int, default=0, help="X-Forwarded-For hops to trust")
    sv.add_argument("--max-upload-bytes", type=int, default=8 * 1024 * 1024)
    sv.add_argument("--timeout", type=int, default=60, help="worker timeout, s")
    sv.add_argument("--graceful-timeout", type=int, default=20, help="shutdown grace, s")
    sv.add_argument("--no-face-check", action="store_true", help="score even without a face")
    sv.add_argument(
        "--no-overlap", action="store_true", help="one thread per check (no side threads)"
    )
    sv.add_argument("--tls-cert", default=None, help="PEM certificate (with --tls-key)")
    sv.add_argument("--tls-key", default=None, help="PEM private key")
    sv.add_argument(
        "--tls-self-signed", action="store_true", help="make and use a self-signed cert"
    )
    sv.add_argument(
        "--audit-dir", default=None, help="opt-in: keep every check here (clip + verdict)"
    )
    sv.add_argument("--audit-days", type=float, default=7.0, help="audit retention, days")
    sv.set_defaults(func=commands.cmd_serve)
    return p


# Optional dependencies by top-level module -> the extra that installs them (pyproject.toml).
EXTRAS = {
    "torch": "train", "matplotlib": "train", "onnx": "train", "litert_torch": "export",
    "ai_edge_quantizer": "export", "flask": "serve", "gunicorn": "serve", "werkzeug": "serve",
    "redis": "serve", "onnxruntime": "serve",
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"liveness {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        extra = EXTRAS.get((e.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"liveness {args.command}: error: this needs {e.name!r}, from the {extra!r} extra: "
            f"pip install 'liveness[{extra}]'",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
