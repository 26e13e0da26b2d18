"""Calibration (liveness.calibrate): the fusion fit, the threshold rules, written into the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from liveness.calibrate import (
    fit_fusion,
    motion_settings,
    pick_threshold,
    resolve_rule,
    write_config,
)
from liveness.config import FusionConfig, LivenessConfig, MotionConfig
from liveness.decision import fused_score
from liveness.gate_levels import NEAR_PER_M
from liveness.motion import Agreement
from liveness.predict import BUNDLED, load_predictor


def _agreement(score: float) -> Agreement:
    st = "agrees" if score > 0.5 else "disagrees"
    return Agreement(st, score, 0.0, score, [score] * 3, score, 1.0, 0.1, 8.0, 8.0, 0.0, score,
                     1.0, [])  # fmt: skip


def scored_set(n: int = 400, seed: int = 0) -> dict:
    """Live clips: network ~0.7, agreement high; injections: network ~0.7 too, agreement low;
    so only the agreement separates them, and the fit must find that."""
    rng = np.random.default_rng(seed)
    live = rng.random(n) < 0.5
    model = np.clip(rng.normal(0.7, 0.1, n), 0.01, 0.99)
    motion = np.where(live, rng.uniform(0.5, 1.0, n), rng.uniform(0.0, 0.6, n))
    return _scored(model, motion, live, "injection")


def _scored(model: np.ndarray, motion: np.ndarray, live: np.ndarray, attack: str) -> dict:
    """What calibrate.collect returns, for clips with sensors and a face: network scores,
    agreement scores, which are live; the others are all `attack`."""
    n = len(model)
    return {
        "model": list(model),
        "motion": [_agreement(m) for m in motion],
        "face_ok": [True] * n,
        "has_imu": [True] * n,
        "is_live": live,
        "attack": np.where(live, "none", attack),
    }


def test_fusion_fit_converges_for_a_confident_network() -> None:
    # A network whose scores saturate (p within 1e-9..1e-3 of 0 or 1) and is confidently wrong
    # on 2 % of the clips: a plain Newton step overshoots there and diverged (a bias of ~1e11,
    # session 24). The fit must reach the optimum of the penalised log-loss instead.
    from liveness.calibrate import _features
    from liveness.config import FusionConfig

    rng = np.random.default_rng(0)
    n = 400
    live = rng.random(n) < 0.4
    model = np.where(live, 1 - 10 ** rng.uniform(-9, -3, n), 10 ** rng.uniform(-9, -3, n))
    model = np.where(rng.random(n) < 0.02, 1 - model, model)
    motion = np.where(live, rng.uniform(0.5, 1.0, n), rng.uniform(0.3, 1.0, n))
    s = _scored(model, motion, live, "print")
    f = fit_fusion(s)
    beta = np.array([f.w_model, f.w_motion, f.b_imu, f.bias])
    assert np.all(np.abs(beta) < 10)
    x, keep = _features(s, FusionConfig(motion_form="logit", motion_gate=True))
    x, y = x[keep], live[keep].astype(float)  # what the fit saw (the gate's refusals left out)
    w = np.where(y > 0, 0.5 / y.sum(), 0.5 / (1 - y).sum())
    p = 1 / (1 + np.exp(-(x @ beta)))
    grad = x.T @ (w * (p - y)) + 1e-2 * np.diag([1.0, 1.0, 1.0, 0.0]) @ beta
    assert np.abs(grad).max() < 1e-6  # the optimum, not merely somewhere finite
    fused = np.array([fused_score(m, a.score, f) for m, a in zip(model, s["motion"], strict=True)])
    from liveness.metrics import auc

    assert auc(fused, live) > 0.9


def test_fusion_learns_to_weigh_the_agreement() -> None:
    s = scored_set()
    f = fit_fusion(s, motion_gate=False)
    assert f.w_motion > 2.0
    fused = np.array(
        [fused_score(m, a.score, f) for m, a in zip(s["model"], s["motion"], strict=True)]
    )
    from liveness.metrics import auc

    assert auc(fused, s["is_live"]) > 0.95 > auc(np.array(s["model"]), s["is_live"])


def test_fusion_learns_to_weigh_flatness_when_asked() -> None:
    """Prints: network ~0.7 like live, the face flat (misfit ~0.4 % against ~1.5 %); only the
    flatness cue separates them. Without the cue in `scored`, the fit leaves it out."""
    from liveness.metrics import auc
    from liveness.motion import Relief

    s = scored_set()
    rng = np.random.default_rng(3)
    live = s["is_live"]
    s["motion"] = [None] * len(live)  # no sensors: the cue is all there is besides the network
    s["has_imu"] = [False] * len(live)
    s["attack"] = np.where(live, "none", "print")
    pct = np.where(live, rng.lognormal(np.log(1.5), 0.4), rng.lognormal(np.log(0.4), 0.4))
    assert fit_fusion(s).w_relief == 0.0  # nothing measured: not fitted
    s["relief"] = [Relief(float(p), 30, 12) for p in pct]
    f = fit_fusion(s)
    assert f.w_relief > 1.0
    fused = np.array([fused_score(m, None, f, p) for m, p in zip(s["model"], pct, strict=True)])
    assert auc(fused, live) > 0.9 > 0.6 > auc(np.array(s["model"]), live)
    assert fit_fusion(s, relief=False).w_relief == 0.0


def test_motion_gate_refuses_disagreeing_captures_and_fits_on_the_rest() -> None:
    """With the gate, captures the motion check calls disagreeing never reach the fusion: the
    fit leaves them out (its weights differ from the ungated fit) and the decision path refuses
    them whatever the network says, while the others are scored by the fitted fusion."""
    from liveness.calibrate import decided

    s = scored_set()
    gated, plain = fit_fusion(s), fit_fusion(s, motion_gate=False)
    assert gated.motion_gate and not plain.motion_gate
    assert abs(gated.w_motion - plain.w_motion) > 0.1
    cfg = LivenessConfig(threshold=0.5, fusion=gated)
    scores = decided(s, cfg)
    disagrees = np.array([a.status == "disagrees" for a in s["motion"]])
    assert disagrees.any() and np.all(scores[disagrees] == 0.0)
    assert np.all(scores[~disagrees] > 0.0)


def _disagreeing(score: float, findings: list[str]) -> Agreement:
    return Agreement("disagrees", score, 0.0, score, [score] * 3, score, 1.0, 0.1, 8.0, 8.0, 0.0,
                     score, 1.0, findings)  # fmt: skip


def test_gate_level_holds_the_gates_own_share_of_refused_genuine_captures() -> None:
    """gate_level: the highest level at which the gate alone refuses at most the share of
    genuine captures; strong findings count first; injections do not matter."""
    from liveness.calibrate import decided
    from liveness.gate_levels import gate_level

    weak = [0.05, 0.1, 0.2, 0.3, 0.4]
    live_motion = [_disagreeing(w, ["low_correlation"]) for w in weak] + [_agreement(0.9)] * 95
    spoof_motion = [_disagreeing(0.01, ["low_correlation"])] * 50
    s = {
        "model": [0.8] * 150,
        "motion": live_motion + spoof_motion,
        "face_ok": [True] * 150,
        "has_imu": [True] * 150,
        "is_live": np.array([True] * 100 + [False] * 50),
        "attack": np.array(["none"] * 100 + ["injection"] * 50),
    }
    assert gate_level(s, 0.02) == pytest.approx(0.2)  # refuses 0.05 and 0.1: 2 of 100
    assert gate_level(s, 0.0) == pytest.approx(0.05)  # refuses none of them
    assert gate_level(s, 0.10) == 1.0  # room for all five
    fusion = FusionConfig(w_motion=1.0, motion_form="logit", motion_gate=True, gate_below=0.2)
    scores = decided(s, LivenessConfig(threshold=0.5, fusion=fusion))
    assert np.sum(scores[:100] == 0.0) == 2 and np.all(scores[100:] == 0.0)
    # A strong finding on a genuine capture uses the budget up first.
    s["motion"][10] = _disagreeing(0.6, ["offset"])
    assert gate_level(s, 0.02) == pytest.approx(0.1)
    s["motion"][11] = _disagreeing(0.6, ["offset"])
    s["motion"][12] = _disagreeing(0.6, ["imu_gap"])
    assert gate_level(s, 0.02) == 0.0  # over budget: weak ones are never refused by the gate
    # fit_fusion leaves out exactly what the gate refuses.
    f = fit_fusion(s, gate_below=0.2)
    assert f.gate_below == 0.2 and f.motion_gate


def test_bpcer_rule_says_so_when_the_policy_alone_refuses_more() -> None:
    """Policy refusals score 0; when they alone exceed the target the rule cannot be met, and
    the threshold must still refuse nothing more (and not accept a score of 0)."""
    live = np.r_[np.ones(100, bool), np.zeros(50, bool)]
    scores = np.r_[np.zeros(10), np.linspace(0.2, 1.0, 90), np.linspace(0.0, 0.5, 50)]
    t, why = pick_threshold(scores, live, np.where(live, "none", "print"), "bpcer", 0.05)
    assert t == pytest.approx(0.2) and "not reachable" in why and "0.100" in why


def test_balanced_threshold_meets_in_the_middle() -> None:
    rng = np.random.default_rng(1)
    live = np.r_[np.ones(200, bool), np.zeros(200, bool)]
    scores = np.r_[rng.uniform(0.4, 1.0, 200), rng.uniform(0.0, 0.6, 200)]
    t, rule = pick_threshold(scores, live, np.where(live, "none", "print"), "balanced")
    assert 0.45 < t < 0.55 and "APCER = BPCER" in rule
    t1, _ = pick_threshold(scores, live, np.where(live, "none", "print"), "apcer", 0.01)
    assert t1 > t


def test_cli_rule_from_its_target() -> None:
    assert resolve_rule(None) == ("balanced", 0.01)
    assert resolve_rule(None, apcer=0.02) == ("apcer", 0.02)
    assert resolve_rule(None, bpcer=0.03) == ("bpcer", 0.03)
    assert resolve_rule("apcer") == ("apcer", 0.01) and resolve_rule("bpcer") == ("bpcer", 0.05)
    with pytest.raises(ValueError):
        resolve_rule("eer")


@pytest.mark.parametrize("target", [0.0, 0.02, 0.05, 0.2])
def test_bpcer_rule_refuses_at_most_the_target_share_of_live(target: float) -> None:
    """The app's rule: the highest threshold that refuses ≤ target of genuine users."""
    from liveness.metrics import bpcer

    rng = np.random.default_rng(2)
    live = np.r_[np.ones(300, bool), np.zeros(100, bool)]
    scores = np.r_[rng.uniform(0.3, 1.0, 300), rng.uniform(0.0, 0.7, 100)]
    attack = np.where(live, "none", "replay")
    t, rule = pick_threshold(scores, live, attack, "bpcer", target)
    assert bpcer(scores, live, t) <= target + 1e-12 and "BPCER <= " in rule
    # ... and no higher threshold would: the next live score up is refused one more user.
    srt = np.sort(scores[live])
    above = srt[srt > t]
    if len(above):
        assert bpcer(scores, live, float(above[0])) > target


def test_write_config_into_an_export_sidecar(tmp_path: Path) -> None:
    model = tmp_path / "m.tflite"
    shutil.copy(BUNDLED, model)
    shutil.copy(str(BUNDLED) + ".json", str(model) + ".json")
    cfg = load_predictor(model, check_face=False).config
    new = LivenessConfig.from_dict({**cfg.to_dict(), "threshold": 0.4321})
    new = LivenessConfig(new.preprocess, new.model, 0.4321, "test rule", new.motion,
                         FusionConfig(w_motion=3.0, rule="test"))  # fmt: skip
    write_config(model, new)
    again = load_predictor(model, check_face=False)
    assert again.threshold == 0.4321 and again.config.fusion.w_motion == 3.0
    assert json.loads(Path(str(model) + ".json").read_text())["threshold"] == 0.4321


def test_calibrate_command_pools_datasets_and_writes_the_file(tmp_path: Path) -> None:
    """End to end on two tiny generated datasets: the decision path scores every clip, the
    fitted fusion and threshold land in the model's sidecar, and evaluate reads them back."""
    from liveness.cli import main
    from liveness.config import SynthConfig
    from liveness.synth.generate import generate_dataset

    for name, seed in (("a", 31), ("b", 32)):
        generate_dataset(tmp_path / name, 8, seed=seed, cfg=SynthConfig(), progress=False)
    model = tmp_path / "m.tflite"
    shutil.copy(BUNDLED, model)
    shutil.copy(str(BUNDLED) + ".json", str(model) + ".json")
    data = f"{tmp_path / 'a'},{tmp_path / 'b'}"
    args = ["calibrate", "--model", str(model), "--data", data, "--split", "all"]
    assert main([*args, "--gate-bpcer", "0.05"]) == 0
    level = load_predictor(model, check_face=False).config.fusion.gate_below
    assert level is not None and 0.0 <= level <= 1.0
    assert main(args) == 0  # without --gate-bpcer the gate refuses every disagreeing capture
    cfg = load_predictor(model, check_face=False).config
    assert cfg.fusion.rule.startswith("logistic") and "calibration split" in cfg.threshold_rule
    assert cfg.fusion.motion_gate and cfg.fusion.gate_below is None
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--data", str(tmp_path / "a"), "--split",
                 "all", "--out", str(out), "--shifted", str(tmp_path / "b")]) == 0  # fmt: skip
    rep = json.loads((out / "report.json").read_text())
    assert rep["threshold"] == cfg.threshold and rep["fusion"]["w_motion"] == cfg.fusion.w_motion
    # The shifted set is reported beside, at the same threshold, per species and per variant.
    sh = rep["shifted"]
    assert sh["threshold"] == cfg.threshold and sh["data"] == str(tmp_path / "b")
    assert (
        sh["n_live"] + sh["n_attack"] == 8 and sum(r["n"] for r in sh["per_variant"].values()) == 8
    )
    md = (out / "report.md").read_text()
    assert "## Per variant" in md and "(shifted)" in md and "## Shifted set: b all" in md
    for key in rep["per_variant"]:
        assert f"| {key} |" in md
    assert len((out / "scores_shifted.csv").read_text().splitlines()) == 9
    assert cfg.fusion.w_relief == 0.0  # the flatness cue only when asked for
    # Its motion is tracked as this version tracks it (seeded), or as --motion says.
    assert cfg.motion.lk_seed and cfg.motion.offset_prior == MotionConfig().offset_prior > 0
    assert cfg.motion.scene_noise_px == MotionConfig().scene_noise_px > 0
    assert main([*args, "--motion", "lk_seed=false", "--motion", "offset_prior=0"]) == 0
    again = load_predictor(model, check_face=False).config.motion
    assert not again.lk_seed and again.offset_prior == 0.0
    assert main([*args, "--relief"]) == 0
    cfg = load_predictor(model, check_face=False).config
    assert cfg.fusion.w_relief != 0.0
    # Fitted anew, the cue is measured as this version measures it, or as --motion says.
    assert cfg.motion.relief_side == MotionConfig().relief_side
    assert main([*args, "--relief", "--motion", "relief_side=240"]) == 0
    assert load_predictor(model, check_face=False).config.motion.relief_side == 240
    assert main(["evaluate", "--model", str(model), "--data", str(tmp_path / "a"), "--split",
                 "all", "--out", str(out)]) == 0  # fmt: skip
    rows = (out / "scores.csv").read_text().splitlines()
    head = rows[0].split(",")
    col = head.index("relief_pct")
    assert any(r.split(",")[col] for r in rows[1:])  # measured on the clips that had a face
    # A motion-check setting changed with the calibration lands in the file with it.
    before = load_predictor(model, check_face=False).config.motion
    assert main([*args, "--motion", "lead_weight=2.5", "--motion", "offset_ms=60"]) == 0
    after = load_predictor(model, check_face=False).config.motion
    assert (after.lead_weight, after.offset_ms) == (2.5, 60.0)
    assert after.max_corners == before.max_corners
    assert main([*args, "--motion", "no_such=1"]) == 2  # a clear error, the file untouched
    assert load_predictor(model, check_face=False).config.motion == after
    # The flatness gate on the guide oval: set from the genuine captures, the cue not fused.
    assert main([*args, "--flat-gate", "0.05", "--motion", "relief_region=oval"]) == 0
    cfg = load_predictor(model, check_face=False).config
    assert cfg.fusion.flat_gate_pct > 0 and cfg.fusion.w_relief == 0.0
    assert cfg.motion.relief_region == "oval"
    assert main([*args, "--motion", "relief_region=face"]) == 2
    # The near-and-flat gate: the cue on the motion check's tracks, its level from the
    # genuine captures, the room's level the physical one.
    assert main([*args, "--near-gate", "0.05"]) == 0
    cfg = load_predictor(model, check_face=False).config
    assert cfg.fusion.near_gate_per_m == NEAR_PER_M and cfg.fusion.near_flat_pct > 0
    assert cfg.motion.relief_source == "motion"
    # The moving-scene gate: the misfit measured (motion.scene on), its level from the genuine
    # captures, the near-and-flat gate's settings kept when both are asked for.
    assert main([*args, "--near-gate", "0.05", "--scene-gate", "0.025"]) == 0
    cfg = load_predictor(model, check_face=False).config
    assert cfg.motion.scene and cfg.fusion.scene_gate > 0
    assert cfg.fusion.near_gate_per_m == NEAR_PER_M
    assert main([*args, "--scene-gate", "0.6"]) == 2  # a share of half or more: refused


def test_motion_settings_parse_as_their_fields_types() -> None:
    got = motion_settings(["lead_weight=4", "max_corners=40", "translation=false"])
    assert got == {"lead_weight": 4.0, "max_corners": 40, "translation": False}
    assert isinstance(got["max_corners"], int)
    for bad in ("lead_weight", "nope=1", "max_corners=4.5", "translation=maybe", "gain_range=1"):
        with pytest.raises(ValueError, match=r"FIELD=VALUE|is not a"):
            motion_settings([bad])
