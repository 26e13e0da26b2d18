"""The `liveness` command: one entry point, each subcommand a thin wrapper over a library call."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from liveness import __version__


def _synth(args: argparse.Namespace) -> int:
    import dataclasses

    from liveness.synth.generate import generate_dataset
    from liveness.synth.presets import preset
    from liveness.synth.preview import write_contact_sheets

    cfg = preset(args.preset)
    if args.width is not None or args.height is not None:
        # One fixed size for every clip; the preset's other ranges stay. A missing side
        # follows the portrait 3:4 shape.
        w = args.width or round(args.height * 3 / 4)
        h = args.height or round(args.width * 4 / 3)
        cfg = dataclasses.replace(cfg, width=w, height=h)
        if args.preset == "shifted":
            print(f"note: --preset shifted with a fixed {w}x{h}: size is no longer shifted")
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


def _train(args: argparse.Namespace) -> int:
    from liveness.config import LivenessConfig, ModelConfig, PreprocessConfig
    from liveness.train import TrainArgs, main

    pp = PreprocessConfig(num_frames=args.frames, image_size=args.image_size)
    mc = ModelConfig(
        block_flow=args.block_flow,
        motion_aux=args.motion_aux,
        width_mult=args.width_mult,
        use_video=args.modalities != "imu",
        use_imu=args.modalities != "video",
    )
    targs = TrainArgs(
        data=args.data,
        out=args.out,
        config=LivenessConfig(pp, mc),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        workers=args.workers,
        max_steps=args.max_steps,
        resume=args.resume,
        imu_dropout=args.imu_dropout,
        imu_swap=args.imu_swap,
    )
    best = main(targs)
    print(f"best checkpoint: {best}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from liveness.evaluate import evaluate_model

    evaluate_model(args.checkpoint, args.data, args.out, split=args.split,
                   shifted=args.shifted, shifted_split=args.shifted_split)  # fmt: skip
    print((Path(args.out) / "report.md").read_text())
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from liveness.calibrate import calibrate, resolve_rule

    rule, target = resolve_rule(args.rule, args.apcer, args.bpcer)
    res = calibrate(args.model, args.data, args.split, rule, target, not args.no_fusion)
    s = res["summary"]
    print(f"{args.model}: threshold {res['threshold']:.4f} ({res['threshold_rule']}); "
          f"on {args.split}: worst APCER {s['apcer_max']:.3f}, BPCER {s['bpcer']:.3f}, "
          f"AUC {s['auc']:.4f}; fusion {json.dumps(res['fusion'])}")  # fmt: skip
    return 0


def _motion(args: argparse.Namespace) -> int:
    from liveness.clip import read_clip
    from liveness.config import LivenessConfig
    from liveness.motion import agreement, plot_agreement

    for path in args.clips:
        clip = read_clip(path)
        a, vm = agreement(clip.frames, clip.frame_t_ms, clip.imu, LivenessConfig().motion)
        print(json.dumps({"clip": path, **a.to_dict()}) if args.json else f"{path}: {a.words()}")
        if args.plot:
            out = Path(args.plot) / f"{Path(path).name}_motion.png"
            plot_agreement(vm, clip.imu, a, out, title=str(path))
            print(f"wrote {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from liveness.predict import load_predictor, predict_paths

    predictor = load_predictor(args.model, threads=args.threads, check_face=not args.no_face_check)
    failed = 0
    for r in predict_paths(predictor, args.clips, batch_size=args.batch_size):
        failed += "error" in r
        if args.json:
            print(json.dumps(r), flush=True)
        elif "error" in r:
            print(f"{r['clip']}: ERROR {r['error']}", flush=True)
        else:
            verdict = "LIVE" if r["live"] else "SPOOF"
            used = "+".join(r["modalities"])
            line = f"{r['clip']}: {verdict} score {r['score']:.4f}"
            words = f"; {r['motion']['words']}" if r.get("motion") else ""
            print(f"{line} (threshold {r['threshold']:.4f}, {used}){words}", flush=True)
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    from liveness.export import ParityError, export_all
    from liveness.parity_report import summary

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    try:
        results = export_all(
            args.checkpoint, args.out, formats, args.data, args.split, args.clips,
            args.calib_clips, args.parity_data,
        )  # fmt: skip
    except ParityError as e:
        print(f"liveness export: PARITY FAILED: {e} (see {args.out}/parity_report.md)")
        return 3
    print("\n".join(summary(results, Path(args.out))))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from liveness.challenge import challenge_set
    from liveness.server.serve import ServeOptions, run_server
    from liveness.server.settings import ServerSettings, default_sessions_url

    settings = ServerSettings(
        sessions_url=args.sessions or default_sessions_url(),
        challenges=challenge_set(args.challenges),
        session_ttl_s=args.session_ttl,
        rate_limit=args.rate_limit,
        trusted_proxies=args.trusted_proxies,
        max_upload_bytes=args.max_upload_bytes,
        audit_dir=Path(args.audit_dir) if args.audit_dir else None,
        audit_days=args.audit_days,
    )
    opts = ServeOptions(
        model=args.model,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        timeout_s=args.timeout,
        graceful_timeout_s=args.graceful_timeout,
        check_face=not args.no_face_check,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_self_signed=args.tls_self_signed,
    )
    return run_server(settings, opts)


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
    t.add_argument("--block-flow", action="store_true", help="add block-wise LK motion features")
    t.add_argument("--motion-aux", action="store_true", help="ego-motion head + gyro supervision")
    t.add_argument("--threads", type=int, default=0, help="torch threads per process")
    t.add_argument("--workers", type=int, default=0, help="data loader processes")
    t.add_argument("--max-steps", type=int, default=0, help="stop early (smoke tests)")
    t.add_argument("--resume", default=None, help="continue from a last.pt")
    t.set_defaults(func=_train)

    r = sub.add_parser("predict", help="score clips; JSON lines with --json (see CONTRACT.md)")
    r.add_argument("clips", nargs="+", help="clip directories")
    r.add_argument("--model", default=None, help="model file (default: the bundled model)")
    r.add_argument("--json", action="store_true", help="one JSON object per clip per line")
    r.add_argument("--batch-size", type=int, default=8)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--no-face-check", action="store_true", help="score even without a face")
    r.set_defaults(func=_predict)

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
    x.set_defaults(func=_export)

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
    e.set_defaults(func=_evaluate)

    c = sub.add_parser("calibrate", help="fit fusion + threshold on a split, into the model file")
    c.add_argument("--model", "--checkpoint", dest="model", required=True, help=".pt/.onnx/.tflite")
    c.add_argument("--data", required=True, help="dataset(s), comma-separated, pooled")
    c.add_argument("--split", default="val")
    c.add_argument("--rule", default=None, choices=("balanced", "apcer", "bpcer"),
                   help="balanced (APCER = BPCER, the default), apcer or bpcer")  # fmt: skip
    c.add_argument("--apcer", type=float, default=None, help="hold worst-species APCER <= this")
    c.add_argument("--bpcer", type=float, default=None, help="refuse at most this share of live")
    c.add_argument("--no-fusion", action="store_true", help="threshold only, network score")
    c.set_defaults(func=_calibrate)

    m = sub.add_parser("motion", help="motion agreement of clips (video vs gyro), with plots")
    m.add_argument("clips", nargs="+")
    m.add_argument("--json", action="store_true")
    m.add_argument("--plot", default=None, help="directory for <clip>_motion.png")
    m.set_defaults(func=_motion)

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
    sv.add_argument("--tls-cert", default=None, help="PEM certificate (with --tls-key)")
    sv.add_argument("--tls-key", default=None, help="PEM private key")
    sv.add_argument(
        "--tls-self-signed", action="store_true", help="make and use a self-signed cert"
    )
    sv.add_argument(
        "--audit-dir", default=None, help="opt-in: keep every check here (clip + verdict)"
    )
    sv.add_argument("--audit-days", type=float, default=7.0, help="audit retention, days")
    sv.set_defaults(func=_serve)
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
