"""Staging print and replay attacks: what the instrument shows, where it is, how it moves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from liveness.config import SynthConfig
from liveness.rotation import rotvec_to_matrix
from liveness.synth.atlas import Atlas
from liveness.synth.attacks import PrintLook, ScreenLook, Sheet, StaticPose
from liveness.synth.capture import FACE, Capture, half_tans, linear, live_capture
from liveness.synth.spec import ClipSpec
from liveness.synth.trajectory import CHALLENGES, DevicePath, RigidPath, Wobble, sample_device_path

DISTANCES = {  # (rig, closeup, held) ranges of the instrument's distance to the lens, m
    "print": ((0.06, 0.12), (0.12, 0.2), (0.2, 0.4)),
    "replay": ((0.05, 0.1), (0.1, 0.18), (0.18, 0.35)),
}


def _held(rng: np.random.Generator, still: bool) -> StaticPose | RigidPath:
    """The attack instrument's pose at the origin facing +x: on a stand or in a swaying hand."""
    r = np.stack([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], axis=1)  # x=+Y, y=+Z, z=+X
    r = rotvec_to_matrix(np.radians(rng.normal(0, [3.0, 6.0, 3.0]))) @ r
    if still:
        return StaticPose(r, FACE.copy())
    # A hand: reuse the phone-path machinery with a tiny arc (the holder's own sway and tremor).
    hand = DevicePath(
        target=np.array([-1.0, 0.0, 0.0]),
        eye=FACE.copy(),
        orbit=np.radians(rng.normal(0, [1.0, 1.0, 1.0])),
        rot_wobble=Wobble.sample(
            rng, [(0.3, 1.5, np.radians(rng.uniform(0.5, 2.0))), (8, 12, np.radians(0.1))]
        ),
        pos_wobble=Wobble.sample(rng, [(0.3, 1.5, 0.004), (8, 12, 0.0001)]),
    )
    # look_at gives z toward -x (away from the phone); flip to the sheet convention.
    return RigidPath(hand, np.diag([-1.0, 1.0, -1.0]), np.zeros(3))


def _fine(rng: np.random.Generator, cfg: SynthConfig) -> bool:
    """Whether this instrument is a photographic print or a high-end screen. No draw when the
    configuration asks for none, so configurations without them keep their clips' bytes."""
    return cfg.fine_media_share > 0 and bool(rng.random() < cfg.fine_media_share)


def _source_distance(
    rng: np.random.Generator, edgeless: bool, cam_tan: float, src_tan: float
) -> tuple[float, float]:
    """Distance of the camera that took the shown photo/video, and the distance at which the
    shown face then appears to the capturing camera.

    The sheet's angular size over the view's is dp·tan_src / (apparent·tan_cam): above 1 (edgeless)
    the sheet overfills every frame; below 1 its edges show and the face looks farther away.
    """
    if edgeless:
        apparent = rng.uniform(0.22, 0.4)
        return rng.uniform(1.45, 1.8) * apparent * cam_tan / src_tan, apparent
    dp = rng.uniform(0.25, 0.5)
    return dp, dp * src_tan / (rng.uniform(0.45, 0.85) * cam_tan)


def attack_capture(
    rng: np.random.Generator,
    spec: ClipSpec,
    atlas: Atlas,
    cfg: SynthConfig,
    duration: float,
    live: Capture,
    move_head: Callable[[object], None] | None = None,
) -> tuple[Capture, dict[str, Any]]:
    """A camera filming a print or a screen that shows the subject (the attack instrument).

    move_head: applied to the person in a replayed video (a head that turns in the recording
    turns on the screen; a print's cannot)."""
    edgeless = spec.variant in ("closeup", "rig", "rig-matched")
    rig = spec.variant.startswith("rig")
    _, cam_tan_h = half_tans(live.hfov, live.width, live.height)
    # Capture distance (m): strapped to the lens, an edgeless close-up, or held in view.
    rig_m, close_m, held_m = DISTANCES[spec.attack]
    dc = rng.uniform(*(rig_m if rig else close_m if edgeless else held_m))
    if spec.attack == "print":
        src_w, src_h = 2 * live.width, 2 * live.height
        src = live_capture(rng, atlas, cfg, duration, "left", src_w, src_h, amplitude=0.0)
        src.hfov = rng.uniform(50, 70)
        src_tan_w, src_tan_h = half_tans(src.hfov, src_w, src_h)
        dp, apparent = _source_distance(rng, edgeless, cam_tan_h, src_tan_h)
        src.path = DevicePath(target=FACE, eye=np.array([dp, 0.0, rng.normal(0, 0.02)]))
        photo = linear(src.frames(np.array([0.0]), rng))[0]
        border = 0 if edgeless else int(rng.integers(0, src_w // 8))
        paper = np.full(
            (src_h + 2 * border, src_w + 2 * border, 3), rng.uniform(0.75, 0.95), np.float32
        )
        paper[border : border + src_h, border : border + src_w] = photo
        s = dc / apparent
        size = (
            s * 2 * dp * src_tan_w * paper.shape[1] / src_w,
            s * 2 * dp * src_tan_h * paper.shape[0] / src_h,
        )
        look: PrintLook | ScreenLook = PrintLook.sample(rng, _fine(rng, cfg))
        bend = 0.0 if rng.random() < 0.4 or rig else rng.uniform(-3.0, 3.0)

        def content(t: float) -> np.ndarray:
            return paper
    else:
        matched = spec.variant in ("rig-matched", "matched")
        src_chal = spec.challenge if matched else str(rng.choice(CHALLENGES))
        src_fps = rng.uniform(15, 25)
        # Replayed videos are lower in resolution than the capture (compressed, upscaled).
        sw, sh = int(live.width * 0.6), int(live.height * 0.6)
        src = live_capture(rng, atlas, cfg, duration + 0.5, src_chal, sw, sh, distance=1.0)
        if move_head is not None:
            move_head(src.objects[0])
        src_tan_w, src_tan_h = half_tans(src.hfov, sw, sh)
        dp, apparent = _source_distance(rng, edgeless, cam_tan_h, src_tan_h)
        if isinstance(src.path, DevicePath):
            rel = src.path.eye - src.path.target
            src.path.eye = src.path.target + rel * dp / np.linalg.norm(rel)
        t_src = np.arange(0.0, duration + 0.5, 1.0 / src_fps)
        video = linear(src.frames(t_src, rng))
        offset = rng.uniform(-0.15, 0.15) if matched else rng.uniform(0.0, 0.5)
        look = ScreenLook.sample(rng, _fine(rng, cfg))
        bez = 1 + 2 * look.bezel
        s = dc / apparent
        size = (s * 2 * dp * src_tan_w * bez, s * 2 * dp * src_tan_h * bez)
        bend = 0.0

        def content(t: float) -> np.ndarray:
            k = int(np.clip(round((t + offset) * src_fps), 0, len(video) - 1))
            return video[k]

    if rig:
        # Instrument strapped in front of the lens: sheet z = −device z, x = −device x.
        path = sample_device_path(
            rng, FACE, rng.uniform(0.2, 0.4), spec.challenge, rng.uniform(10, 25), duration
        )
        pose: Any = RigidPath(path, np.diag([-1.0, 1.0, -1.0]), np.array([0.0, 0.0, dc]))
        cap_path: DevicePath | RigidPath = path
    else:
        pose = _held(rng, still=rng.random() < 0.3)
        cap_path = sample_device_path(rng, FACE, dc, spec.challenge, rng.uniform(10, 25), duration)
    n_thumbs = 0 if edgeless else int(rng.integers(0, 3))
    thumbs = [
        (float(rng.uniform(0.1, 0.9)), float(rng.choice([0.02, 0.98])), 0.012)
        for _ in range(n_thumbs)
    ]
    sheet = Sheet(
        path=pose,
        size=size,
        content=content,
        light=live.light,
        look=look,
        bend=bend,
        thumbs=thumbs,
    )
    wall = live.objects[1]
    cap = Capture(
        [sheet, wall], cap_path, live.hfov, live.width, live.height, live.camera, live.light
    )
    return cap, {"capture_distance_m": round(float(dc), 3), "edgeless": edgeless}
