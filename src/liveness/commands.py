"""The CLI's subcommands: each a thin wrapper from parsed arguments to one library function."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def cmd_synth(args: argparse.Namespace) -> int:
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
    if args.stabilised is not None:
        cfg = dataclasses.replace(cfg, stabilised_share=args.stabilised)
    if args.filtered_walls:
        cfg = dataclasses.replace(cfg, wall_filtered=True)
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


def cmd_preview(args: argparse.Namespace) -> int:
    from liveness.synth.preview import write_contact_sheets

    for p in write_contact_sheets(args.dataset, args.out, rows=args.rows):
        print(f"contact sheet: {p}")
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from liveness.baseline import evaluate_baseline, format_report

    report = evaluate_baseline(args.dataset, split=args.split, workers=args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(format_report(report))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from liveness.config import LivenessConfig, ModelConfig, PreprocessConfig
    from liveness.train import TrainArgs, main

    pp = PreprocessConfig(
        num_frames=args.frames,
        image_size=args.image_size,
        crop_scale=args.crop_scale,
        white_balance=args.white_balance,
    )
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
        zoom=args.zoom,
        camera_aug=args.camera_aug,
        camera_levels=args.camera_levels,
        skip_attacks=tuple(a for a in args.skip_attacks.split(",") if a),
    )
    best = main(targs)
    print(f"best checkpoint: {best}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from liveness.evaluate import evaluate_model

    evaluate_model(args.checkpoint, args.data, args.out, split=args.split,
                   shifted=args.shifted, shifted_split=args.shifted_split)  # fmt: skip
    print((Path(args.out) / "report.md").read_text())
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from liveness.calibrate import calibrate, motion_settings, resolve_rule

    rule, target = resolve_rule(args.rule, args.apcer, args.bpcer)
    res = calibrate(args.model, args.data, args.split, rule, target, not args.no_fusion,
                    motion_gate=not args.no_motion_gate, gate_bpcer=args.gate_bpcer,
                    relief=args.relief, motion=motion_settings(args.motion),
                    flat_gate=args.flat_gate, near_gate=args.near_gate,
                    scene_gate=args.scene_gate)  # fmt: skip
    s = res["summary"]
    print(f"{args.model}: threshold {res['threshold']:.4f} ({res['threshold_rule']}); "
          f"on {args.split}: worst APCER {s['apcer_max']:.3f}, BPCER {s['bpcer']:.3f}, "
          f"AUC {s['auc']:.4f}; fusion {json.dumps(res['fusion'])}")  # fmt: skip
    return 0


def cmd_motion(args: argparse.Namespace) -> int:
    from liveness.clip import read_clip
    from liveness.decision import clip_hfov
    from liveness.motion import (
        agreement,
        gray_frames,
        motion_relief,
        plot_agreement,
        plot_relief,
        relief_tracks,
    )
    from liveness.predict import load_predictor

    # The model's own motion settings and each clip's field of view, as `liveness predict`
    # and the service measure it: the numbers here are the ones a refused capture got.
    model_cfg = load_predictor(args.model, check_face=False).config
    cfg, fusion = model_cfg.motion, model_cfg.fusion
    for path in args.clips:
        clip = read_clip(path)
        a, vm = agreement(clip.frames, clip.frame_t_ms, clip.imu, cfg, clip_hfov(clip))
        # What the gates read beside the agreement's words: the room's depth, and how far the
        # scene moves by itself (decision.near_flat_gated, scene_moved), where measured.
        extra = []
        if math.isfinite(a.room_per_m) and a.room_per_m > 0:
            extra.append(f"the room reads {1 / a.room_per_m:.2f} m away")
        if math.isfinite(a.scene_misfit):
            gate = f" (the gate refuses above {fusion.scene_gate:.2f})" if fusion.scene_gate else ""
            extra.append(f"scene misfit {a.scene_misfit:.2f}{gate}")
        line = f"{path}: {a.words()}" + "".join(f"; {x}" for x in extra)
        print(json.dumps({"clip": path, **a.to_dict()}) if args.json else line)
        if args.plot:
            out = Path(args.plot) / f"{Path(path).name}_motion.png"
            plot_agreement(vm, clip.imu, a, out, title=str(path), cfg=cfg)
            # The flatness cue as the model measures it: on the motion check's tracks, or on
            # its own tracks of the guide oval (no face detector here).
            flat = Path(args.plot) / f"{Path(path).name}_relief.png"
            if cfg.relief_source == "motion":
                first = gray_frames(clip.frames[:1], cfg.max_side)[0][0]
                cue = motion_relief(vm, cfg, first)
            else:
                cue = relief_tracks(clip.frames, clip.frame_t_ms, cfg)
            plot_relief(cue, flat, title=str(path))
            print(f"wrote {out} and {flat}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
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
            if r.get("rejected") == "no_face":
                words = f"; no face: {r['reasons'][0]['message']}"
            print(f"{line} (threshold {r['threshold']:.4f}, {used}){words}", flush=True)
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
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


def cmd_serve(args: argparse.Namespace) -> int:
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
        overlap=not args.no_overlap,
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
