"""Calibrate a model file's decision on a validation split: the late fusion and the threshold.

`liveness calibrate --model FILE --data DIR` scores every clip of the split through the decision
path's inputs (network score, motion agreement, face check; with --relief the face-flatness
cue), fits the fusion of the network's logit with the agreement score (and the cue) by logistic
regression, picks the threshold by the stated rule and
writes both into the file's configuration (the checkpoint, or an export's sidecar). Nothing is
chosen on the split a report is made on: calibrate on `val`, report on `test` and `shifted`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from liveness import metrics
from liveness.clip import read_clip
from liveness.config import FusionConfig, LivenessConfig, MotionConfig
from liveness.decision import VETO, clip_agreement, clip_relief, decide, gated, logit
from liveness.gate_levels import NEAR_PER_M, flat_level, gate_level, scene_level
from liveness.manifest import read_manifest
from liveness.preprocess import preprocess_clip

RULES = ("balanced", "apcer", "bpcer")


def collect(
    predictor: Any,
    data: str | os.PathLike[str],
    split: str,
    progress: bool = True,
    relief: bool | None = None,
) -> dict[str, Any]:
    """Per clip of `split`: network score, agreement (or None), face-flatness cue, face check,
    label, species. `data` may name several datasets, comma-separated (their clips are pooled).
    `relief`: measure the flatness cue (None: when the model's fusion uses it)."""
    rows = []
    for part in str(data).split(","):
        root = Path(part)
        got = [r for r in read_manifest(root / "manifest.csv") if split in ("all", r.split)]
        if not got:
            raise ValueError(f"{root}: no clips in split {split!r}")
        rows += [(root, r) for r in got]
    keys = ("clip", "model", "motion", "relief", "face_ok", "has_imu")
    out: dict[str, list[Any]] = {k: [] for k in keys}
    if relief is None:
        relief = bool(predictor.config.fusion.w_relief)
    for root, r in tqdm(rows, desc=f"score {split}", unit="clip", disable=not progress):
        clip = read_clip(root / r.clip)
        fc = predictor.check_face(clip)
        box = fc.box() if fc is not None else None
        item = preprocess_clip(clip, predictor.config.preprocess, face_box=box)
        res = predictor.predict_inputs([item])[0]
        out["clip"].append(r.clip if len(str(data).split(",")) == 1 else str(root / r.clip))
        out["model"].append(res["model_score"])
        out["motion"].append(clip_agreement(clip, predictor.config))
        faces = fc.faces if fc is not None else None
        out["relief"].append(clip_relief(clip, predictor.config, relief, faces, out["motion"][-1]))
        out["face_ok"].append(fc is None or fc.ok)
        out["has_imu"].append(clip.imu is not None)
    return {
        **out,
        "is_live": np.array([r.attack == "none" for _, r in rows]),
        "attack": np.array([r.attack for _, r in rows]),
        "variant": np.array([r.variant for _, r in rows]),
    }


def decided(scored: dict[str, Any], cfg: LivenessConfig) -> np.ndarray:
    """The decision path's score of every collected clip (0 when refused by policy or face)."""
    s = []
    reliefs = scored.get("relief") or [None] * len(scored["model"])
    for m, a, imu, face, r in zip(
        scored["model"], scored["motion"], scored["has_imu"], scored["face_ok"], reliefs,
        strict=True,
    ):  # fmt: skip
        s.append(decide(m, imu, a, cfg, r).score if face else 0.0)
    return np.array(s)


def _features(
    scored: dict[str, Any], form: FusionConfig, relief: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) features [logit p, has·motion term, has, 1] (with `relief`, (N, 5): the
    flatness term before the 1) and which clips enter the fit (face found, not refused by a
    veto finding or, with the motion gate, by disagreeing)."""
    x, keep = [], []
    reliefs = scored.get("relief") or [None] * len(scored["model"])
    for m, a, face, r in zip(
        scored["model"], scored["motion"], scored["face_ok"], reliefs, strict=True
    ):
        usable = a is not None and a.status not in ("no_motion", "unreliable")
        has = 1.0 if usable and np.isfinite(a.score) else 0.0
        row = [logit(m), has * form.motion_term(a.score if has else 0.5), has]
        if relief:
            row.append(form.relief_term(r.misfit_pct if r is not None else None))
        x.append([*row, 1.0])
        refused = a is not None and (bool(set(a.findings) & set(VETO)) or gated(a, form))
        keep.append(face and not refused)
    return np.array(x), np.array(keep)


def fit_fusion(
    scored: dict[str, Any],
    l2: float = 1e-2,
    iters: int = 50,
    motion_form: str = "logit",
    motion_gate: bool = True,
    gate_below: float | None = None,
    relief: bool | None = None,
) -> FusionConfig:
    """Logistic regression (Newton's method, a little L2) of live vs spoof on the features,
    classes weighted equally; with `relief` (None: when `scored` holds the cue) the
    face-flatness term too (docs/MOTION.md, "Is the face a plane?"). The agreement enters as a
    clipped logit (FusionConfig): on seed 77's validation split that lowered worst APCER
    0.106 → 0.064 and BPCER 0.115 → 0.083 against the linear form (docs/MOTION.md). With
    `motion_gate` captures the motion check calls disagreeing are refused by policy, so only
    the others enter the fit (docs/MODEL.md)."""
    form = FusionConfig(motion_form=motion_form, motion_gate=motion_gate, gate_below=gate_below)
    if relief is None:
        relief = any(r is not None for r in scored.get("relief") or [])
    x, keep = _features(scored, form, relief)
    y = scored["is_live"].astype(float)
    x, y = x[keep], y[keep]
    w_cls = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    beta = np.zeros(x.shape[1])
    beta[0] = 1.0
    reg = l2 * np.diag([1.0] * (x.shape[1] - 1) + [0.0])  # the bias is not pulled

    def loss(b: np.ndarray) -> float:  # the weighted, penalised log-loss Newton descends
        z = x @ b
        return float(w_cls @ (np.logaddexp(0.0, z) - y * z) + 0.5 * b @ reg @ b)

    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        grad = x.T @ (w_cls * (p - y)) + reg @ beta
        hess = (x * (w_cls * p * (1 - p))[:, None]).T @ x + reg
        step = np.linalg.solve(hess + 1e-12 * np.eye(len(beta)), grad)
        # Backtracking: a full Newton step can overshoot where a confident network's scores
        # saturate (p(1 − p) ≈ 0 flattens the Hessian) and the plain iteration then diverges
        # (a bias of 5e12 on one network of session 24). Where the full step lowers the loss
        # enough (Armijo), as it does near the optimum, the iterates are plain Newton's.
        t, now = 1.0, loss(beta)
        while loss(beta - t * step) > now - 1e-4 * t * float(grad @ step) and t > 1e-10:
            t *= 0.5
        beta = beta - t * step
    return FusionConfig(
        w_model=float(beta[0]), w_motion=float(beta[1]), b_imu=float(beta[2]),
        bias=float(beta[-1]), rule="logistic regression on the calibration split",
        motion_form=form.motion_form, motion_gate=motion_gate, gate_below=gate_below,
        w_relief=float(beta[3]) if relief else 0.0,
    )  # fmt: skip


def resolve_rule(
    rule: str | None, apcer: float | None = None, bpcer: float | None = None
) -> tuple[str, float]:
    """The CLI's rule and target: `--apcer 0.01` or `--bpcer 0.05` alone names its rule;
    `--rule apcer|bpcer` alone holds 1 % / 5 %; nothing given: balanced."""
    rule = rule or ("apcer" if apcer is not None else "bpcer" if bpcer is not None else "balanced")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}")
    given = bpcer if rule == "bpcer" else apcer
    return rule, given if given is not None else (0.05 if rule == "bpcer" else 0.01)


def motion_settings(items: list[str]) -> dict[str, Any]:
    """`FIELD=VALUE` strings -> MotionConfig fields, each parsed as its field's type (numbers and
    flags; `translation=false`). An unknown field, a tuple field or a bad value is an error."""
    base = MotionConfig()
    out: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        old = getattr(base, name, None) if eq else None
        if old is None or isinstance(old, tuple) or name.startswith("_"):
            raise ValueError(f"{item!r}: expected FIELD=VALUE with FIELD a MotionConfig setting")
        try:
            if isinstance(old, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                out[name] = text.lower() in ("true", "1")
            else:
                out[name] = type(old)(text)
        except ValueError:
            raise ValueError(f"{item!r}: {text!r} is not a {type(old).__name__}") from None
    return out


def pick_threshold(
    scores: np.ndarray, is_live: np.ndarray, attack: np.ndarray, rule: str, target: float = 0.01
) -> tuple[float, str]:
    """`balanced`: the threshold where the worst species' APCER meets BPCER (min of their max);
    `apcer`: the lowest threshold with every species' APCER <= `target` (a bank's rule);
    `bpcer`: the highest threshold that refuses at most `target` of genuine users (an app's)."""
    if rule == "apcer":
        t = metrics.calibrate_threshold(scores, is_live, attack, "apcer", target)
        return float(t), f"worst-species APCER <= {target:g} on the calibration split"
    if rule == "bpcer":
        live = np.sort(np.asarray(scores, float)[np.asarray(is_live, bool)])
        if len(live) == 0:
            raise ValueError("the bpcer rule needs live clips in the calibration split")
        # Refused: live scores below t. At most floor(target·n) of them may lie below.
        t = float(live[min(int(np.floor(target * len(live))), len(live) - 1)])
        if t <= 0.0:  # policy refusals (score 0) alone refuse more than the target
            t = float(np.min(live[live > 0])) if np.any(live > 0) else 1.0
            refused = float(np.mean(live <= 0.0))
            return t, (
                f"BPCER <= {target:g} not reachable on the calibration split: the policy alone "
                f"refuses {refused:.3f}; every live score the policy lets through is accepted"
            )
        return t, f"BPCER <= {target:g} on the calibration split"
    cand = np.unique(scores)
    best = min(
        cand,
        key=lambda t: max(
            metrics.apcer_max(scores, is_live, attack, t), metrics.bpcer(scores, is_live, t)
        ),
    )
    return float(best), "worst-species APCER = BPCER on the calibration split"


def write_config(model_file: str | os.PathLike[str], cfg: LivenessConfig) -> None:
    """Store the configuration in the model file's own metadata (checkpoint or sidecar)."""
    p = Path(model_file)
    if p.suffix in (".pt", ".pth"):
        from liveness.checkpoint import load_checkpoint, save_checkpoint

        ck = load_checkpoint(p)
        ck["config"] = cfg.to_dict()
        save_checkpoint(p, {k: v for k, v in ck.items() if k != "liveness_version"})
        return
    from liveness.backends import read_sidecar, sidecar_path

    meta = read_sidecar(p)
    meta["config"] = cfg.to_dict()
    meta["threshold"] = cfg.threshold
    tmp = sidecar_path(p).with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, sidecar_path(p))


def calibrate(
    model_file: str | os.PathLike[str],
    data: str | os.PathLike[str],
    split: str = "val",
    rule: str = "balanced",
    target: float = 0.01,
    fuse: bool = True,
    progress: bool = True,
    motion_gate: bool = True,
    gate_bpcer: float | None = None,
    relief: bool = False,
    motion: dict[str, Any] | None = None,
    flat_gate: float | None = None,
    near_gate: float | None = None,
    scene_gate: float | None = None,
) -> dict[str, Any]:
    """Fit the fusion and the threshold on `split` and write them into `model_file`; `target`
    is the APCER or BPCER the `apcer` / `bpcer` rule holds on that split; `motion_gate`: see
    FusionConfig; `gate_bpcer`: the share of genuine captures the gate may refuse by itself
    (sets FusionConfig.gate_below; None: the gate refuses every disagreeing capture);
    `relief`: fuse the face-flatness cue too (FusionConfig.w_relief; off by default: at the
    bundled model's operating point it cost more genuine users than its rule allowed,
    docs/MOTION.md "Is the face a plane?"; measured at MotionConfig's relief_side unless
    `motion` names it); `motion`: MotionConfig fields to change first
    (motion_settings), scored with and written into the file with the fusion and threshold:
    the file's motion check changes, so its fusion and threshold are fitted anew;
    `flat_gate`: with sensors, refuse captures whose cue is below this quantile of the genuine
    ones' (FusionConfig.flat_gate_pct; set after the threshold is picked, so its refusals come
    on top of the rule's; docs/MOTION.md "A flat capture refused");
    `near_gate`: with sensors, refuse captures whose room reads nearer than NEAR_PER_M and whose
    flatness cue on the motion check's tracks is below this quantile of the genuine ones'
    (FusionConfig.near_gate_per_m, near_flat_pct; sets MotionConfig.relief_source "motion";
    also after the threshold; docs/MOTION.md "The scene at arm's length");
    `scene_gate`: with sensors, refuse captures whose scene moves beyond what the phone's motion
    explains more than all but this share of the genuine ones' (FusionConfig.scene_gate,
    scene_level; turns MotionConfig.scene on; after the threshold; docs/MOTION.md "A scene
    that moves by itself")."""
    from liveness.predict import load_predictor

    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}")
    predictor = load_predictor(model_file)
    # Everything below is fitted anew on motion measured and scored as this version does (a
    # file written before the seeded tracker reads lk_seed off, one written before the clock
    # offset's prior reads offset_prior 0, one before the scene's noise floor scene_noise_px
    # 0), unless `motion` says otherwise.
    now = MotionConfig()
    motion = {"lk_seed": now.lk_seed, "offset_prior": now.offset_prior,
              "scene_noise_px": now.scene_noise_px, **(motion or {})}  # fmt: skip
    if near_gate is not None:
        motion = {**(motion or {}), "relief_source": "motion"}
    if scene_gate is not None:
        motion = {**(motion or {}), "scene": True}
    measure = bool(relief and fuse) or flat_gate is not None or near_gate is not None
    if measure and "relief_side" not in (motion or {}):
        # The cue is fitted anew: measured as this version measures it (a file written before
        # the face crop carries relief_side 0), unless `motion` says otherwise.
        motion = {**(motion or {}), "relief_side": MotionConfig().relief_side}
    if motion:
        c = predictor.config
        predictor.config = dataclasses.replace(c, motion=dataclasses.replace(c.motion, **motion))
    scored = collect(predictor, data, split, progress, relief=measure)
    cfg = predictor.config
    level = gate_level(scored, gate_bpcer) if motion_gate and gate_bpcer is not None else None
    fusion = (
        fit_fusion(scored, motion_gate=motion_gate, gate_below=level, relief=relief)
        if fuse
        else FusionConfig()
    )
    cfg = dataclasses.replace(cfg, fusion=fusion)
    s = decided(scored, cfg)
    t, why = pick_threshold(s, scored["is_live"], scored["attack"], rule, target)
    cfg = dataclasses.replace(cfg, threshold=t, threshold_rule=why)
    if flat_gate is not None:
        gate = flat_level(scored, flat_gate)
        cfg = dataclasses.replace(cfg, fusion=dataclasses.replace(fusion, flat_gate_pct=gate))
        s = decided(scored, cfg)
    if near_gate is not None:
        near = dataclasses.replace(cfg.fusion, near_gate_per_m=NEAR_PER_M,
                                   near_flat_pct=flat_level(scored, near_gate))  # fmt: skip
        cfg = dataclasses.replace(cfg, fusion=near)
        s = decided(scored, cfg)
    if scene_gate is not None:
        moving = dataclasses.replace(cfg.fusion, scene_gate=scene_level(scored, scene_gate))
        cfg = dataclasses.replace(cfg, fusion=moving)
        s = decided(scored, cfg)
    write_config(model_file, cfg)
    summary = metrics.summarize(s, scored["is_live"], scored["attack"], t)
    return {"model": str(model_file), "split": split, "fusion": cfg.fusion.to_dict(),
            "threshold": t, "threshold_rule": why, "summary": summary}  # fmt: skip
