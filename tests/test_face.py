"""The bundled BlazeFace face check: anchors, decoding, letterbox, and real synthetic frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from liveness.config import SynthConfig
from liveness.face import (
    ANCHORS,
    MODEL_PATH,
    SIZE,
    Face,
    FaceCheck,
    FaceDetector,
    Letterbox,
    decode,
    default_detector,
    face_check,
    in_guide,
    letterbox,
    probe_indices,
)
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.scene import wall_texture
from liveness.synth.spec import ClipSpec
from liveness.synth.trajectory import CHALLENGES


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return default_detector()


def test_model_is_bundled() -> None:
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size == 229_032
    assert (MODEL_PATH.parent / "THIRD_PARTY.md").is_file()


def test_anchor_layout() -> None:
    assert ANCHORS.shape == (896, 2)
    # stride 8: a 16×16 grid, 2 anchors per cell, row-major, a cell's anchors adjacent
    np.testing.assert_allclose(ANCHORS[0], ANCHORS[1])
    np.testing.assert_allclose(ANCHORS[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(ANCHORS[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(ANCHORS[32], [0.5 / 16, 1.5 / 16])
    np.testing.assert_allclose(ANCHORS[511], [15.5 / 16, 15.5 / 16])
    # stride 16: an 8×8 grid, 6 anchors per cell
    np.testing.assert_allclose(ANCHORS[512:518], np.tile([0.5 / 8, 0.5 / 8], (6, 1)))
    np.testing.assert_allclose(ANCHORS[518], [1.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(ANCHORS[512 + 6 * 8], [0.5 / 8, 1.5 / 8])
    np.testing.assert_allclose(ANCHORS[-1], [7.5 / 8, 7.5 / 8])


def _raw() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((896, 16), np.float32), np.full(896, -50.0, np.float32)


def test_decode_single_anchor() -> None:
    reg, logits = _raw()
    a = 600  # some stride-16 anchor
    reg[a, :4] = [6.4, -12.8, 32.0, 64.0]  # dx, dy, w, h in px of the 128 input
    reg[a, 4:6] = [1.28, 2.56]  # first keypoint's offset
    logits[a] = 5.0
    (score, box, kp), *rest = decode(reg, logits)
    assert not rest
    assert score == pytest.approx(1 / (1 + np.exp(-5.0)))
    cx, cy = ANCHORS[a] + [0.05, -0.1]
    np.testing.assert_allclose(box, [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], atol=1e-6)
    np.testing.assert_allclose(kp[0], ANCHORS[a] + [0.01, 0.02], atol=1e-6)
    np.testing.assert_allclose(kp[1:], np.tile(ANCHORS[a], (5, 1)), atol=1e-6)
    assert decode(reg, logits, min_score=0.999) == []


def test_decode_weighted_nms() -> None:
    reg, logits = _raw()
    a, b, far = 512, 513, 800  # a, b share a cell: two overlapping boxes; far is elsewhere
    reg[[a, b, far], 2:4] = 40.0
    reg[b, 0] = 4.0  # b is shifted right by 4 px of 128: IoU with a ≈ 0.82
    logits[[a, b, far]] = [3.0, 1.0, 2.0]
    dets = decode(reg, logits)
    assert len(dets) == 2
    (s0, box0, _), (s1, box1, _) = dets
    sa, sb = (1 / (1 + np.exp(-v)) for v in (3.0, 1.0))
    assert s0 == pytest.approx(sa) and s1 == pytest.approx(1 / (1 + np.exp(-2.0)))
    shift = 4 / SIZE * sb / (sa + sb)  # score-weighted mean of the two boxes
    np.testing.assert_allclose(box0[[0, 2]], ANCHORS[a, 0] + shift + [-20 / SIZE, 20 / SIZE])
    np.testing.assert_allclose(box1[:2], ANCHORS[far] - 20 / SIZE, atol=1e-6)
    # far enough apart, they stay separate
    reg[b, 0] = 40.0
    assert len(decode(reg, logits)) == 3


def test_letterbox_portrait_roundtrip() -> None:
    frame = np.full((640, 480, 3), 200, np.uint8)  # portrait 3:4
    canvas, lb = letterbox(frame)
    assert canvas.shape == (SIZE, SIZE, 3)
    assert lb == Letterbox(sx=0.2, sy=0.2, ox=16, oy=0)
    assert canvas[:, :16].max() == 0 and canvas[:, -16:].max() == 0
    assert canvas[:, 16:112].min() == 200
    # a box from x=100..300, y=200..400 px of the frame, expressed in input units
    box_in = np.array([[(16 + 100 * 0.2) / SIZE, 200 * 0.2 / SIZE], [(16 + 60) / SIZE, 80 / SIZE]])
    np.testing.assert_allclose(lb.undo(box_in), [[100, 200], [300, 400]], atol=1e-9)


def test_letterbox_zoomed_out_roundtrip() -> None:
    frame = np.full((640, 480, 3), 200, np.uint8)  # portrait 3:4 into 77 px (0.6 of 128)
    canvas, lb = letterbox(frame, 0.6)
    assert (lb.ox, lb.oy) == (35, 25)  # 58×77 px, centred
    assert np.isclose(lb.sx, 58 / 480) and np.isclose(lb.sy, 77 / 640)
    assert canvas[25:102, 35:93].min() == 200 and canvas[:25].max() == 0 and canvas[102:].max() == 0
    corners = lb.undo(np.array([[35, 25], [93, 102]]) / SIZE)
    np.testing.assert_allclose(corners, [[0, 0], [480, 640]], atol=1e-6)


def test_zoom_out_finds_the_face_in_frame_pixels(
    detector: FaceDetector, live_clips: list[np.ndarray]
) -> None:
    frame = live_clips[0][0]  # (128, 96, 3)
    full = detector.scan(frame, 0.3)[0][0]
    zoomed = detector.scan(frame, 0.3, fit=0.6)[0][0]
    # the same face, boxes in px of the frame whichever view found it
    np.testing.assert_allclose(zoomed.box, full.box, atol=8)


def test_in_guide() -> None:
    # 96×128 portrait: the central square is y 16..112
    assert in_guide((20, 30, 70, 90), 128, 96)
    assert not in_guide((20, 0, 70, 20), 128, 96)  # in the top band
    assert not in_guide((20, 110, 70, 128), 128, 96)


@pytest.fixture(scope="module")
def live_clips() -> list[np.ndarray]:
    """6 live clips at the default render size (96×128): [(T, 128, 96, 3) uint8]."""
    cfg, seed = SynthConfig(), 3
    out = []
    for i in range(6):
        spec = ClipSpec(i, i, "none", "normal", False, CHALLENGES[i % len(CHALLENGES)])
        atlas = sample_atlas(np.random.default_rng([seed, i]))
        out.append(render_clip(spec, atlas, cfg, seed).frames)
    return out


def test_live_clips_pass(detector: FaceDetector, live_clips: list[np.ndarray]) -> None:
    for frames in live_clips:
        assert frames.shape[1:] == (128, 96, 3)
        check = face_check(frames, detector)
        assert check.ok, check.reason
        assert check.hits == 2 <= check.probes <= 5 and check.best_score >= 0.5  # stops at 2
        for face in detector.detect(frames[0]):  # boxes come back in px of the 96×128 frame
            x0, y0, x1, y1 = face.box
            assert -20 < x0 < x1 < 116 and -20 < y0 < y1 < 148
            assert face.keypoints.shape == (6, 2)
            assert x0 - 10 < face.keypoints[:, 0].mean() < x1 + 10


def test_uniform_grey_fails(detector: FaceDetector) -> None:
    check = face_check(np.full((12, 128, 96, 3), 128, np.uint8), detector)
    assert not check.ok and check.hits == 0
    assert check.reason.startswith("no face found in any of 5 frames checked")


def test_wall_without_person_fails(detector: FaceDetector) -> None:
    for seed in range(3):
        tex = wall_texture(np.random.default_rng(seed))  # (256, 256, 3) linear RGB
        srgb = (np.clip(tex, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
        # a camera panning across the wall: (5, 128, 96, 3)
        frames = np.stack(
            [
                np.asarray(Image.fromarray(srgb[:, 16 * k : 16 * k + 192]).resize((96, 128)))
                for k in range(5)
            ]
        )
        check = face_check(frames, detector)
        assert not check.ok, check
        assert check.reason.startswith("no face found")


def test_face_outside_guide(detector: FaceDetector, live_clips: list[np.ndarray]) -> None:
    frame = live_clips[2][0]  # (128, 96, 3)
    x0, _, x1, _ = (round(v) for v in detector.detect(frame)[0].box)
    crop = frame[:, max(x0 - 4, 0) : min(x1 + 4, 96)]
    # the face at the right edge of a wide 224×128 frame, far from the central 128 px square
    wide = np.full((1, 128, 224, 3), 128, np.uint8)
    wide[0, :, 224 - crop.shape[1] :] = crop
    check = face_check(wide, detector)
    assert not check.ok and check.reason.startswith("face outside the guide oval"), check
    assert check.best_score >= 0.5


def test_empty_and_min_hits(detector: FaceDetector, live_clips: list[np.ndarray]) -> None:
    check = face_check(np.zeros((0, 128, 96, 3), np.uint8), detector)
    assert not check.ok and check.probes == 0
    frames = np.full((4, 128, 96, 3), 128, np.uint8)
    frames[-1] = live_clips[2][0]
    check = face_check(frames, detector, probes=4, min_hits=2)
    assert not check.ok and check.hits == 1 and "only 1 of 4" in check.reason
    assert face_check(frames, detector, probes=4, min_hits=1).ok
    assert not face_check(frames, detector, probes=4).ok  # default: 2 frames must show a face
    assert face_check(frames, detector, probes=10).probes == 4  # never more than T frames


def test_probe_order_ends_first() -> None:
    assert probe_indices(30).tolist() == [0, 29, 7, 14, 22]
    assert sorted(probe_indices(30).tolist()) == np.linspace(0, 29, 5).round().tolist()
    assert probe_indices(1).tolist() == [0] and probe_indices(3, 5).tolist() == [0, 2, 1]


def test_check_keeps_its_whole_frame_detections(
    detector: FaceDetector, live_clips: list[np.ndarray]
) -> None:
    """What the challenge judge reuses: the probed frames' whole-frame faces, the same as a
    fresh scan of those frames; a face check that stops at its second hit has the two ends."""
    frames = live_clips[0]
    check = face_check(frames, detector)
    assert sorted(check.faces) == [0, len(frames) - 1]
    for i, faces in check.faces.items():
        fresh, _ = detector.scan(frames[i], 0.5)
        assert [f.box for f in faces] == [f.box for f in fresh] and faces


def test_face_check_box_is_the_median_of_each_frames_best_face() -> None:
    """FaceCheck.box, where PreprocessConfig.face_crop cuts: per probed frame the best face,
    then the median over frames (one frame's stray detection does not move it)."""
    kp = np.zeros((6, 2))
    faces = {
        0: [Face((0, 0, 10, 10), 0.9, kp), Face((50, 50, 90, 90), 0.6, kp)],
        5: [Face((2, 2, 12, 12), 0.8, kp)],
        9: [Face((100, 0, 110, 10), 0.7, kp)],
        12: [],
    }
    assert FaceCheck(True, 3, 4, 0.9, "", faces).box() == (2, 0, 12, 10)
    assert FaceCheck(False, 0, 4, 0.1, "no_face", {}).box() is None
