"""The face-flatness cue (liveness.motion.relief): rig physics, the homography fit, fusion."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from liveness.config import FusionConfig, LivenessConfig, MotionConfig
from liveness.decision import decide, fused_score
from liveness.motion import Relief, relief
from liveness.motion.relief import face_region, homography_misfit, motion_relief
from liveness.motion.video import video_motion
from tests import rig

CFG = MotionConfig()


def _project(h: np.ndarray, p: np.ndarray) -> np.ndarray:
    q = np.column_stack([p, np.ones(len(p))]) @ h.T
    return q[:, :2] / q[:, 2:]


def test_an_exact_homography_has_no_misfit() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 160, (30, 2))
    h = np.array([[1.02, 0.03, 4.0], [-0.01, 0.98, -2.0], [1e-4, -2e-4, 1.0]])
    assert homography_misfit(a, _project(h, a)) < 1e-6


def test_misfit_measures_noise_and_ignores_a_few_strays() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 160, (40, 2))
    b = a + np.array([3.0, -1.0])
    noisy = b + rng.normal(0, 0.5, b.shape)
    # The median transfer error of 2-D Gaussian noise σ is about 1.18 σ (less: the fit absorbs
    # some of it).
    assert 0.3 < homography_misfit(a, noisy) < 0.7
    strays = b.copy()
    strays[:8] += rng.uniform(-15, 15, (8, 2))  # a fifth lost: the refit on the better half
    assert homography_misfit(a, strays) < 0.05


def test_two_depths_do_not_fit_one_homography() -> None:
    """Points at depths spread 0.25–0.45 m seen after a 3 cm sideways step (focal 190 px): each
    shifts by f·step/depth, 13–23 px, which no single homography fits."""
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 160, (40, 2))
    depth = rng.uniform(0.25, 0.45, 40)
    b = a + np.column_stack([190 * 0.03 / depth, np.zeros(40)])
    assert homography_misfit(a, b) > 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_ball_is_not_flat_and_a_plane_is(seed: int) -> None:
    """A head-sized ball (12 cm radius) filmed while the camera arcs about it 0.3 m away: its
    surface shifts against its outline. The same move before a plane through its centre, and
    the camera turning in place before the ball (no parallax), both fit one homography.
    Measured (seeds 0–2): ball 0.28–0.84 %, plane 0.045–0.057 %, turn in place 0.055–0.059 %."""
    ball = relief(*rig.ball_capture(seed, arc_m=0.3, radius_m=0.12), CFG)
    plane = relief(*rig.ball_capture(seed, arc_m=0.3, radius_m=0.12, flat=True), CFG)
    turn = relief(*rig.ball_capture(seed, arc_m=0.0, radius_m=0.12), CFG)
    assert ball.measured and plane.measured and turn.measured
    assert plane.misfit_pct < 0.1 and turn.misfit_pct < 0.1
    assert ball.misfit_pct > 0.2
    assert ball.misfit_pct > 4 * max(plane.misfit_pct, turn.misfit_pct)
    assert ball.frames == CFG.relief_frames and ball.points >= CFG.relief_min_points


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_motion_checks_tracks_tell_a_ball_from_a_plane(seed: int) -> None:
    """relief_source "motion": the same question on the corners the motion check followed from
    the first frame, over the whole frame (VideoMotion.track_ids chains them), no tracking of
    its own. The ball stands 1.2 m before the rig's wall, so the arc shows its relief and the
    wall's parallax; a plane filling the frame and a turn in place stay flat. Measured (seeds
    0–2): ball 0.50–3.30 % on 49–58 points, plane 0.07–0.08 %, turn 0.08–0.09 %."""
    got = {}
    for name, kw in (("ball", {}), ("plane", {"flat": True}), ("turn", {"arc_m": 0.0})):
        frames, t = rig.ball_capture(seed, **{"arc_m": 0.3, "radius_m": 0.12, **kw})
        got[name] = motion_relief(video_motion(frames, t, CFG), CFG).relief
        assert got[name].measured and got[name].points >= CFG.relief_min_points
    assert got["plane"].misfit_pct < 0.1 and got["turn"].misfit_pct < 0.1
    assert got["ball"].misfit_pct > 4 * max(got["plane"].misfit_pct, got["turn"].misfit_pct)


def test_track_ids_follow_one_corner_from_interval_to_interval() -> None:
    """Where a corner ends one interval is where the same number starts the next."""
    frames, t = rig.ball_capture(0, arc_m=0.3, radius_m=0.12)
    vm = video_motion(frames, t, CFG)
    assert len(vm.track_ids) == len(vm.tracks) == len(frames) - 1
    chained = 0
    for k in range(len(vm.tracks) - 1):
        (b, ib), (a, ia) = (
            (vm.tracks[k][1], vm.track_ids[k]),
            (vm.tracks[k + 1][0], vm.track_ids[k + 1]),
        )
        assert len(ib) == len(b) and len(np.unique(ib)) == len(ib)
        common, i, j = np.intersect1d(ib, ia, return_indices=True)
        np.testing.assert_allclose(b[i], a[j], atol=1e-4)
        chained += len(common)
    assert chained > 10 * len(vm.tracks)


def _ball_box(arc_m: float, radius_m: float) -> tuple[float, float, float, float]:
    """The rig ball's bounding box in the first frame (it sits on the optical axis)."""
    r = rig.F * math.tan(math.asin(radius_m / arc_m))
    return rig.W / 2 - r, rig.H / 2 - r, rig.W / 2 + r, rig.H / 2 + r


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_small_face_keeps_its_pixels_in_a_crop(seed: int) -> None:
    """The same ball 0.6 m away (76 px across in a 240 × 320 frame, 51 px when the whole frame
    is tracked at 160 px): tracked in a crop about its box (relief_side) it is measured on more
    points, is not flat, and the plane is. Physics: twice as far, the arc's translation for the
    same turn doubles and the relief's inverse-depth spread falls fourfold, so the misfit should
    be about half the near ball's. Measured (seeds 0–2): crop ball 0.15–0.34 % on 24–40 points,
    plane 0.037–0.039 %; the whole frame 0.65–1.67 % on 12–19 points (a homography on few
    points leaves its worst ones as "relief"); the near ball 0.25–0.53 %."""
    crop = dataclasses.replace(CFG, relief_side=160)
    box = _ball_box(0.6, 0.12)
    frames, t = rig.ball_capture(seed, arc_m=0.6, radius_m=0.12)
    ball, whole = relief(frames, t, crop, box), relief(frames, t, CFG, box)
    plane = relief(*rig.ball_capture(seed, arc_m=0.6, radius_m=0.12, flat=True), crop, box)
    assert ball.measured and plane.measured
    assert ball.points >= CFG.relief_min_points and ball.points > whole.points
    assert plane.misfit_pct < 0.05 and ball.misfit_pct > 3 * plane.misfit_pct
    near = relief(*rig.ball_capture(seed, arc_m=0.3, radius_m=0.12), crop, _ball_box(0.3, 0.12))
    assert 0.2 < ball.misfit_pct / near.misfit_pct < 1.0


def test_a_crop_as_large_as_the_frame_measures_what_the_frame_does() -> None:
    """A face box half the frame's width: its crop is the whole frame, tracked at the same
    160 px, and the misfit (in % of the whole frame's width either way) is the same number."""
    frames, t = rig.ball_capture(0, arc_m=0.3, radius_m=0.12)
    box = _ball_box(0.3, 0.12)
    assert face_region(box, rig.W, rig.H) == (0, 0, rig.W, rig.H)
    crop = relief(frames, t, dataclasses.replace(CFG, relief_side=160), box)
    assert crop == relief(frames, t, CFG, box)


def test_the_face_region_stays_inside_the_frame() -> None:
    assert face_region((100, 140, 140, 180), 240, 320) == (80, 120, 160, 200)
    assert face_region((-30, -30, 20, 20), 240, 320) == (0, 0, 45, 45)
    assert face_region((400, 500, 420, 520), 240, 320) == (0, 0, 240, 320)  # off the frame
    # The face and its surroundings (relief_surround 2): the ellipse twice the box, and the
    # same margin about it.
    assert face_region((100, 140, 140, 180), 240, 320, surround=2.0) == (60, 100, 180, 220)


def test_cost_does_not_grow_with_the_frame_rate() -> None:
    frames, t = rig.ball_capture(1, fps=30.0, arc_m=0.3, radius_m=0.12)
    r = relief(frames, t, CFG)
    assert r.frames == CFG.relief_frames and r.misfit_pct > 0.2


def test_nothing_to_track_is_not_measured() -> None:
    frames = np.full((10, 320, 240, 3), 128, np.uint8)
    r = relief(frames, np.arange(10) * 66.0, CFG)
    assert not r.measured and r.points == 0
    assert "too few" in r.words()
    d = r.to_dict()
    assert d["misfit_pct"] is None and d["summary"] == r.words()
    short = relief(frames[:2], np.arange(2) * 66.0, CFG)
    assert not short.measured


def test_the_fusion_term() -> None:
    f = FusionConfig(w_relief=2.0)
    assert f.relief_term(1.0) == 0.0  # the reference: between prints and faces
    assert f.relief_term(None) == 0.0 and f.relief_term(float("nan")) == 0.0
    assert f.relief_term(0.5) == pytest.approx(math.log(0.5))
    assert f.relief_term(0.01) == f.relief_term(0.1)  # clipped: tracking noise
    assert f.relief_term(3.0) == 0.0  # one-sided: depth is no evidence of life
    p = 0.6
    assert fused_score(p, None, FusionConfig(), 0.2) == pytest.approx(p)  # unused: unchanged
    assert fused_score(p, None, f, None) == pytest.approx(p)  # not measured: unchanged
    assert fused_score(p, None, f, 2.0) == pytest.approx(p)
    assert fused_score(p, None, f, 0.4) < fused_score(p, None, f, 0.8) < p


def test_decide_reports_the_cue_and_a_flat_face() -> None:
    cfg = LivenessConfig(threshold=0.5, fusion=FusionConfig(w_relief=2.0))
    flat = Relief(0.3, 30, 12)
    d = decide(0.6, False, None, cfg, flat)
    assert not d.live
    out = d.to_dict()
    assert out["relief"]["misfit_pct"] == 0.3
    assert [r["code"] for r in out["reasons"]] == ["score_below_threshold", "face_flat"]
    deep = decide(0.6, False, None, cfg, Relief(2.0, 30, 12))
    assert deep.live and deep.score == pytest.approx(0.6)
    # A model calibrated without the cue neither uses nor reports it.
    old = decide(0.6, False, None, LivenessConfig(threshold=0.5), flat)
    assert old.live and "relief" not in old.to_dict()


def test_motion_command_plots_the_cue(tiny_dataset: Path, tmp_path: Path) -> None:
    """`liveness motion --plot DIR` draws the agreement and the face's tracks for debugging;
    a capture where the cue cannot be measured still gets its picture, saying so."""
    from liveness.cli import main
    from liveness.motion import plot_relief, relief_tracks

    clip = sorted((tiny_dataset / "clips").iterdir())[0]
    assert main(["motion", "--plot", str(tmp_path), str(clip)]) == 0
    for kind in ("motion", "relief"):
        png = tmp_path / f"{clip.name}_{kind}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    blank = relief_tracks(np.full((6, 64, 48, 3), 90, np.uint8), np.arange(6) * 70.0, CFG)
    assert blank.best == -1 and not blank.relief.measured
    assert plot_relief(blank, tmp_path / "blank.png").stat().st_size > 1000


def test_the_whole_frame_cue_says_what_it_measured_and_is_drawn(tmp_path: Path) -> None:
    """The cue on the motion check's tracks is the scene's, not the face's: its words, its
    `region` and its picture (the tracks over the first frame at the tracked size) say so."""
    from liveness.motion import gray_frames, plot_relief

    frames, t = rig.ball_capture(0, arc_m=0.3, radius_m=0.12)
    vm = video_motion(frames, t, CFG)
    tr = motion_relief(vm, CFG, gray_frames(frames[:1], CFG.max_side)[0][0])
    assert tr.first.shape == (vm.size[1], vm.size[0]) and tr.best > 0
    assert tr.relief.region == "frame" and tr.relief.to_dict()["region"] == "frame"
    assert "scene" in tr.relief.words() and "motion check" in tr.relief.words()
    assert plot_relief(tr, tmp_path / "frame.png").stat().st_size > 5000
    still = video_motion(np.full((6, 64, 48, 3), 90, np.uint8), np.arange(6) * 70.0, CFG)
    assert not motion_relief(still, CFG).relief.measured
    assert "scene" in motion_relief(still, CFG).relief.words()
