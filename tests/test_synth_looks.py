"""Appearance variety (liveness.synth.looks): low and side light, off-centre faces, head turns."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter

import numpy as np
import pytest

from liveness.config import SynthConfig
from liveness.synth import looks
from liveness.synth.atlas import sample_atlas
from liveness.synth.capture import FACE, live_capture
from liveness.synth.clipgen import render_clip
from liveness.synth.imaging import CameraModel
from liveness.synth.looks import ISO_REF_GAIN, Look
from liveness.synth.presets import TRAINING
from liveness.synth.scene import Person
from liveness.synth.settings import settings_rng
from liveness.synth.spec import ClipSpec
from liveness.synth.trajectory import sample_device_path
from tests.test_synth_physics import angle_deg
from tests.test_synth_timing import render_spied, rotation_error

# Painted walls only: the noise and shading measures below would see a patterned wall's own
# detail (planks, wallpaper) as high frequencies too.
PLAIN = dataclasses.replace(
    TRAINING, width=48, height=64, light_shares=(1.0, 0.0, 0.0), off_centre_share=0.0,
    head_turn_share=0.0, wall_styles=(),
)  # fmt: skip
LIVE = ClipSpec(2, 0, "none", "normal", True, "left")


def only(**kw: object) -> SynthConfig:
    return dataclasses.replace(PLAIN, **kw)  # type: ignore[arg-type]


def test_training_shares_and_base_has_none() -> None:
    drawn = [Look.sample(TRAINING, settings_rng(4, i)) for i in range(1500)]
    light = Counter(x.lighting for x in drawn)
    assert abs(light["normal"] / 1500 - 0.7) < 0.05
    assert abs(light["low"] / 1500 - 0.15) < 0.04 and abs(light["side"] / 1500 - 0.15) < 0.04
    assert abs(np.mean([x.aim_deg > 0 for x in drawn]) - 0.1) < 0.03
    assert abs(np.mean([x.turn_deg != 0 for x in drawn]) - 0.2) < 0.04
    assert all(8 <= x.aim_deg <= 15 for x in drawn if x.aim_deg)
    assert all(5 <= abs(x.turn_deg) <= 15 for x in drawn if x.turn_deg)
    base = {(x.lighting, x.aim_deg, x.turn_deg, x.iso_noise) for x in
            (Look.sample(SynthConfig(), settings_rng(4, i)) for i in range(200))}  # fmt: skip
    assert base == {("normal", 0.0, 0.0, False)}


def test_base_look_leaves_the_capture_alone() -> None:
    rng = np.random.default_rng(0)
    cap = live_capture(rng, sample_atlas(rng), SynthConfig(), 2.0, "up", 32, 40)
    before = copy.deepcopy(cap)
    look = Look.sample(SynthConfig(), settings_rng(0, 0))
    look.light(cap.light)
    look.camera(cap, 15.0)
    look.person(cap.objects[0])
    look.aim(cap.path)
    for k, v in dataclasses.asdict(before.camera).items():
        assert np.array_equal(getattr(cap.camera, k), v), k
    for k in ("direction", "color", "ambient"):
        assert np.array_equal(getattr(cap.light, k), getattr(before.light, k))
    assert np.array_equal(cap.path.aim, before.path.aim)  # type: ignore[union-attr]
    assert cap.objects[0].turn is None  # type: ignore[attr-defined]


def test_iso_noise_grows_with_gain() -> None:
    cam = CameraModel(gain=8.0, ae_rate=0.0, ae_phase=0.0, wb=np.ones(3), vignette=0.0,
                      defocus=0.0, exposure_s=0.01, shot=0.004, read=0.008,
                      contrast=1.0)  # fmt: skip
    flat = np.full((64, 64, 3), 0.02, np.float32)  # dim: gain 8 brings it to mid-grey

    def noise(c: CameraModel) -> float:
        img = c.develop(flat, 0.0, np.zeros(2), np.random.default_rng(1)).astype(float)
        return float(img.std())

    plain = noise(cam)
    high_iso = noise(dataclasses.replace(cam, iso_ref=ISO_REF_GAIN))
    # k = 8 / 2 = 4: shot σ ×2, read σ ×4.
    assert 1.8 * plain < high_iso < 4.5 * plain
    assert noise(dataclasses.replace(cam, gain=1.5, iso_ref=ISO_REF_GAIN)) == pytest.approx(
        noise(dataclasses.replace(cam, gain=1.5))
    )  # below the reference gain nothing changes


def high_freq(frames: np.ndarray) -> float:
    return float(np.abs(np.diff(frames.astype(float), axis=2)).mean())


def test_low_light_is_noisier_and_exposes_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    atlas = sample_atlas(np.random.default_rng(1))
    exposures: list[float] = []
    orig = looks.Look.camera

    def spy(self: Look, capture: object, fps: float) -> None:
        orig(self, capture, fps)  # type: ignore[arg-type]
        exposures.append(capture.camera.exposure_s)  # type: ignore[attr-defined]

    monkeypatch.setattr(looks.Look, "camera", spy)
    normal = render_clip(LIVE, atlas, PLAIN, 3)
    low = render_clip(LIVE, atlas, only(light_shares=(0.0, 1.0, 0.0)), 3)
    assert low.meta["lighting"] == "low" and normal.meta["lighting"] == "normal"
    assert high_freq(low.frames) > 1.3 * high_freq(normal.frames)
    # A dim room: 30-50 ms (training's ≤ 25 fps leaves at least 40 ms per frame).
    assert 0.03 <= exposures[1] <= 0.05


def test_side_light_comes_from_the_side_and_shades_half_the_face() -> None:
    atlas = sample_atlas(np.random.default_rng(2))
    asym = {}
    for name, shares in (("normal", (1.0, 0.0, 0.0)), ("side", (0.0, 0.0, 1.0))):
        ratios = []
        for seed in range(3):
            f = render_clip(LIVE, atlas, only(light_shares=shares), seed).frames[0].astype(float)
            face = f[16:48, 12:36].mean(axis=(0, 2))  # the face's columns, left to right
            left, right = face[:12].mean(), face[12:].mean()
            ratios.append(max(left, right) / max(min(left, right), 1.0))
        asym[name] = np.mean(ratios)
    assert asym["side"] > asym["normal"] * 1.3  # measured 1.73 vs 1.12
    for i in range(50):
        look = Look.sample(only(light_shares=(0.0, 0.0, 1.0)), settings_rng(1, i))
        # From the side: at least ~60° off the camera's axis (+x, toward the phone).
        assert look.side_dir[0] < 0.5 and abs(look.side_dir[1]) > 0.8


@pytest.mark.parametrize("seed", range(4))
def test_off_centre_aim_moves_the_face_off_the_axis(seed: int) -> None:
    look = Look.sample(only(off_centre_share=1.0), settings_rng(seed, 0))
    path = sample_device_path(np.random.default_rng(seed), FACE, 0.3, "left", 15.0, 2.0)
    aimed = copy.deepcopy(path)
    look.aim(aimed)

    def off_axis_deg(p: object) -> float:
        r, pos = p.pose(np.array([0.0]))  # type: ignore[attr-defined]
        d = r[0].T @ (FACE - pos[0])  # the face in device axes; the camera looks along +z
        return float(np.degrees(np.arccos(d[2] / np.linalg.norm(d))))

    assert 8.0 <= look.aim_deg <= 15.0
    # The phone turned by the extra aim (on top of its own small aim error)...
    r0, r1 = path.pose(np.array([0.0]))[0][0], aimed.pose(np.array([0.0]))[0][0]
    turned = np.degrees(np.arccos(np.clip((np.trace(r0.T @ r1) - 1) / 2, -1, 1)))
    assert abs(turned - look.aim_deg) < 1.0
    # ...so the face sits well off the optical axis.
    assert off_axis_deg(aimed) > 5.0 and off_axis_deg(aimed) > off_axis_deg(path)


def test_off_centre_clip_gyro_still_matches_its_camera(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = only(off_centre_share=1.0, head_turn_share=1.0, light_shares=(0.0, 0.5, 0.5))
    r, _, cams = render_spied(monkeypatch, LIVE, 5, cfg)
    assert r.meta["aim_offset_deg"] >= 8.0 and r.meta["head_turn_deg"] != 0.0
    assert rotation_error(r, cams, r.meta["imu_offset_ms"]) < 1.0


def test_head_turn_turns_the_head_and_reaches_a_replayed_video(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    look = Look.sample(only(head_turn_share=1.0), settings_rng(6, 0))
    rng = np.random.default_rng(6)
    person = live_capture(rng, sample_atlas(rng), PLAIN, 2.0, "up", 32, 40).objects[0]
    assert isinstance(person, Person)
    still = person.head_pose(2.0)[0].T @ person.head_pose(0.0)[0]
    look.person(person)
    turned = person.head_pose(2.0)[0].T @ person.head_pose(0.0)[0]
    extra = np.degrees(np.arccos(np.clip((np.trace(still.T @ turned) - 1) / 2, -1, 1)))
    assert abs(extra - abs(look.turn_deg)) < 5.0  # the turn, give or take the drift (≤ 2.5°)
    moved: list[object] = []
    orig = looks.Look.person
    monkeypatch.setattr(looks.Look, "person", lambda self, p: (moved.append(p), orig(self, p)))
    spec = ClipSpec(3, 0, "replay", "held", True, "left")
    meta = render_clip(spec, sample_atlas(rng), only(head_turn_share=1.0), 6).meta
    assert meta["head_turn_deg"] != 0.0
    # The live capture's person (unused by a replay), then the person in the replayed video.
    assert len(moved) == 2 and all(isinstance(p, Person) for p in moved)
    assert all(p.turn is not None for p in moved)  # type: ignore[attr-defined]


def test_fine_media_draw_the_same_numbers_and_look_photographic() -> None:
    # A photographic print / high-end screen must not move a clip's later draws (only the
    # one fine-or-not draw does), and must lack what marks an office print or a cheap screen.
    from liveness.synth.attacks import PrintLook, ScreenLook

    for kind in (PrintLook, ScreenLook):
        a, b = np.random.default_rng(7), np.random.default_rng(7)
        kind.sample(a), kind.sample(b, fine=True)
        assert a.random() == b.random()
    fine = [PrintLook.sample(np.random.default_rng(i), fine=True) for i in range(200)]
    office = [PrintLook.sample(np.random.default_rng(i)) for i in range(200)]
    assert min(p.contrast for p in fine) >= 0.9 > max(p.contrast for p in office)
    assert max(p.halftone_amp for p in fine) <= 0.03
    assert max(float(p.grain.std()) for p in fine) < min(float(p.grain.std()) for p in office)
    screens = [ScreenLook.sample(np.random.default_rng(i), fine=True) for i in range(200)]
    assert max(s.grid_amp for s in screens) <= 0.05 and max(s.black for s in screens) <= 0.01


def test_fine_media_share_draws_nothing_when_zero() -> None:
    from liveness.synth.staging import _fine

    rng = np.random.default_rng(3)
    assert not _fine(rng, TRAINING) and rng.random() == np.random.default_rng(3).random()
    assert TRAINING.fine_media_share == 0.0 == SynthConfig().fine_media_share
    every = dataclasses.replace(TRAINING, fine_media_share=1.0)
    assert all(_fine(np.random.default_rng(i), every) for i in range(20))
    half = dataclasses.replace(TRAINING, fine_media_share=0.5)
    assert 60 < sum(_fine(np.random.default_rng(i), half) for i in range(200)) < 140


def test_face_distance_range_sets_how_far_the_phone_starts() -> None:
    # The phone's distance to the face at the start of a genuine capture is drawn from
    # cfg.face_distance_m (one draw either way, so a clip's later draws stay where they were).
    from liveness.synth.capture import live_capture

    assert TRAINING.face_distance_m == (0.18, 0.35) == SynthConfig().face_distance_m
    for lo, hi in ((0.18, 0.35), (0.4, 0.5)):
        cfg = dataclasses.replace(PLAIN, face_distance_m=(lo, hi))
        for seed in range(6):
            atlas = sample_atlas(np.random.default_rng(seed))
            cap = live_capture(np.random.default_rng(seed), atlas, cfg, 2.0, "left", 48, 64)
            d = float(np.linalg.norm(cap.path.eye - cap.path.target))
            assert lo - 1e-9 <= d <= hi + 1e-9


def test_stabilisation_is_drawn_last_and_off_unless_asked() -> None:
    # Drawn after every other look: a configuration without it draws what it drew before.
    assert TRAINING.stabilised_share == 0.0 == SynthConfig().stabilised_share
    for i in range(50):
        off = Look.sample(TRAINING, settings_rng(9, i))
        on = Look.sample(dataclasses.replace(TRAINING, stabilised_share=1.0), settings_rng(9, i))
        assert not off.stabilised and on.stabilised
        same = dataclasses.asdict(dataclasses.replace(on, stabilised=False))
        assert all(np.array_equal(v, getattr(off, k)) for k, v in same.items())
        assert "stabilised_sway_kept" not in off.meta()
        assert 0.0 <= on.meta()["stabilised_sway_kept"] <= 0.5  # type: ignore[operator]
    half = dataclasses.replace(TRAINING, stabilised_share=0.5)
    assert 60 < sum(Look.sample(half, settings_rng(9, i)).stabilised for i in range(200)) < 140
    with pytest.raises(ValueError, match="stabilised"):
        dataclasses.replace(TRAINING, stabilised_share=1.5)


def test_stabilised_path_drops_the_tremor_and_keeps_a_share_of_the_sway() -> None:
    rng = np.random.default_rng(4)
    path = sample_device_path(rng, FACE, 0.3, "left", 15.0, 2.0)
    look = Look.sample(only(stabilised_share=1.0), settings_rng(4, 0))
    shown = look.image_path(path)
    assert shown is not path
    w, s = path.rot_wobble, shown.rot_wobble  # type: ignore[union-attr]
    tremor = w.freq >= looks.TREMOR_HZ
    assert tremor.any() and (~tremor).any()
    assert np.all(s.amp[tremor] == 0.0)
    assert np.allclose(s.amp[~tremor], look.sway_kept * w.amp[~tremor])
    # The deliberate move, the aim and the translation are the phone's own.
    t = np.linspace(0.0, 2.0, 50)
    assert np.array_equal(shown.pose(t)[1], path.pose(t)[1])
    turn = np.degrees(np.linalg.norm(np.array([path.orbit, path.tilt]).sum(0)))
    r_raw, r_shown = path.pose(t)[0], shown.pose(t)[0]
    gap = angle_deg(np.swapaxes(r_raw, 1, 2) @ r_shown)
    assert 0.0 < gap.max() < 2.5 < turn  # the wobble (≤ 1° per axis) apart, not the move
    assert Look.sample(PLAIN, settings_rng(4, 0)).image_path(path) is path


def test_stabilised_clip_keeps_its_imu_and_the_exposure_blur_of_the_real_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw, _, spied = render_spied(monkeypatch, LIVE, 5, PLAIN)
    raw_cams = list(spied)  # (the second spy wraps the first, which keeps recording)
    st, st_calls, st_cams = render_spied(monkeypatch, LIVE, 5, only(stabilised_share=1.0))
    assert "stabilised_sway_kept" in st.meta and "stabilised_sway_kept" not in raw.meta
    assert raw.imu is not None and st.imu is not None and np.array_equal(raw.imu, st.imu)
    # The frames' blur (the path handed to imu_from_pose for the frames) and the IMU share
    # the phone's own path; the image's rotation is another, steadier one.
    assert st_calls[-2][0] is st_calls[-1][0]
    gap = angle_deg(np.swapaxes(np.stack(raw_cams), 1, 2) @ np.stack(st_cams))
    assert gap.max() > 0.01 and not np.array_equal(raw.frames, st.frames)
    # The gyro no longer describes the rendered camera exactly: the wobble it took out.
    off = raw.meta["imu_offset_ms"]
    assert rotation_error(st, st_cams, off) > rotation_error(raw, raw_cams, off)
