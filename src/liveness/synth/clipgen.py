"""Render one clip of a given class: frames through the phone camera, IMU from the same path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from liveness.config import SynthConfig
from liveness.synth.attacks import PrintLook, ScreenLook, Sheet, StaticPose
from liveness.synth.face import Atlas, to_linear
from liveness.synth.geometry import focal_px, pixel_rays, rotvec_to_matrix
from liveness.synth.imaging import CameraModel
from liveness.synth.scene import Lighting, SceneObject, Wall, render, sample_person, wall_texture
from liveness.synth.trajectory import (
    CHALLENGES,
    DevicePath,
    RigidPath,
    SensorModel,
    Wobble,
    imu_from_pose,
    resting_path,
    sample_device_path,
    sample_times,
)

FACE = np.zeros(3)  # the face (or the attack instrument) sits at the world origin, facing +x


@dataclass
class ClipSpec:
    """What to render: decided up front so that plans are deterministic and cheap."""

    index: int
    subject: int
    attack: str  # none | print | replay | injection
    variant: str
    has_imu: bool
    challenge: str


@dataclass
class Rendered:
    frames: np.ndarray  # (T, H, W, 3) uint8
    frame_t_ms: np.ndarray  # (T,)
    imu: np.ndarray | None  # (N, 7): t_ms, ax, ay, az, gx, gy, gz
    meta: dict[str, Any]
    jpeg_quality: int


@dataclass
class Capture:
    """A camera looking at a scene: the objects, its path and its optics."""

    objects: list[SceneObject]
    path: DevicePath | RigidPath
    hfov: float
    width: int
    height: int
    camera: CameraModel
    light: Lighting

    def frames(self, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f = focal_px(self.width, self.hfov)
        rays = pixel_rays(self.width, self.height, f)
        r, p = self.path.pose(times)
        gyro, _ = imu_from_pose(self.path, times)
        out = []
        for i, t in enumerate(times):
            radiance = render(self.objects, r[i], p[i], rays, float(t))
            if i == 0:
                self.camera.auto_expose(radiance)
            # Rotation during the exposure smears the image by f·ω·τ (du ∝ ω_y, dv ∝ −ω_x).
            blur = f * self.camera.exposure_s * np.array([gyro[i, 1], -gyro[i, 0]])
            out.append(self.camera.develop(radiance, float(t), blur, rng))
        return np.stack(out)


def _room(rng: np.random.Generator, light: Any) -> Wall:
    return Wall(rng.uniform(0.6, 3.0), wall_texture(rng), light)


def _live_capture(
    rng: np.random.Generator,
    atlas: Atlas,
    cfg: SynthConfig,
    duration: float,
    challenge: str,
    width: int,
    height: int,
    distance: float | None = None,
    amplitude: float | None = None,
) -> Capture:
    person = sample_person(rng, duration, atlas)
    if amplitude is None:
        amplitude = rng.uniform(3, 8) if rng.random() < 0.1 else rng.uniform(10, 25)
    if distance is None:
        distance = rng.uniform(0.18, 0.35)
    target = FACE + np.array([0.0, rng.normal(0, 0.01), rng.normal(-0.01, 0.015)])
    path = sample_device_path(rng, target, distance, challenge, amplitude, duration)
    return Capture(
        objects=[person, _room(rng, person.light)],
        path=path,
        hfov=rng.uniform(*cfg.hfov_deg),
        width=width,
        height=height,
        camera=CameraModel.sample(rng),
        light=person.light,
    )


def _linear(frames: np.ndarray) -> np.ndarray:
    return to_linear(frames.astype(np.float32) / 255.0).astype(np.float32)


def _half_tans(hfov: float, width: int, height: int) -> tuple[float, float]:
    th = np.tan(np.radians(hfov) / 2)
    return th, th * height / width


def _held(rng: np.random.Generator, still: bool) -> StaticPose | DevicePath:
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
    flip = np.diag([-1.0, 1.0, -1.0])

    class _Hand:
        def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rr, pp = hand.pose(t)
            return rr @ flip, pp

    return _Hand()  # type: ignore[return-value]


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


def render_clip(spec: ClipSpec, atlas: Atlas, cfg: SynthConfig, seed: int) -> Rendered:
    """Render the clip `spec` of subject `atlas`; every random choice comes from (seed, index)."""
    rng = np.random.default_rng([seed, spec.index])
    w, h = cfg.width, cfg.height
    duration = rng.uniform(*cfg.duration_s)
    fps = rng.uniform(*cfg.fps)
    t_frames = sample_times(rng, 0.0, duration, fps, rng.uniform(0.0005, 0.003), 0.03)
    capture = _live_capture(rng, atlas, cfg, duration, spec.challenge, w, h)
    imu_path: DevicePath | RigidPath = capture.path
    extra: dict[str, Any] = {}

    if spec.attack == "injection":
        # A genuine-looking video fed to the app; the phone's own sensors tell another story.
        if spec.variant == "rest":
            imu_path = resting_path(rng)
        else:
            other = (
                spec.challenge if spec.variant == "same-direction" else str(rng.choice(CHALLENGES))
            )
            imu_path = sample_device_path(
                rng, FACE, rng.uniform(0.2, 0.4), other, rng.uniform(10, 25), duration
            )
    elif spec.attack in ("print", "replay"):
        capture, extra = _attack_capture(rng, spec, atlas, cfg, duration, capture)
        imu_path = capture.path

    frames = capture.frames(t_frames, rng)
    if spec.attack == "injection" and rng.random() < 0.7:
        frames = _reencode(frames, rng)

    t_origin = rng.uniform(1_000.0, 100_000.0)  # performance.now() has any origin
    imu = None
    if spec.has_imu:
        rate = rng.uniform(*cfg.imu_hz)
        t_imu = sample_times(
            rng,
            t_frames[0] - rng.uniform(0.02, 0.15),
            t_frames[-1] + rng.uniform(0.02, 0.15),
            rate,
            rng.uniform(0.0002, 0.002),
            0.02,
        )
        gyro, acc = imu_from_pose(imu_path, t_imu)
        gyro, acc = SensorModel.sample(rng).apply(gyro, acc, rng)
        imu = np.column_stack([t_origin + 1000 * t_imu, acc, gyro])
    meta = {
        "label": "live" if spec.attack == "none" else "spoof",
        "attack": spec.attack,
        "subject": f"s{spec.subject:05d}",
        "variant": spec.variant,
        "challenge": spec.challenge,
        "generator": "liveness-synth",
        "seed": seed,
        "index": spec.index,
        "hfov_deg": round(float(capture.hfov), 3),
        **extra,
    }
    return Rendered(
        frames=frames,
        frame_t_ms=t_origin + 1000 * t_frames,
        imu=imu,
        meta=meta,
        jpeg_quality=int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)),
    )


def _reencode(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A virtual camera usually streams a re-encoded, often rescaled, earlier recording."""
    from io import BytesIO

    from PIL import Image

    scale = rng.uniform(0.5, 1.0)
    q = int(rng.integers(40, 85))
    out = []
    for f in frames:
        im = Image.fromarray(f)
        if scale < 0.95:
            small = im.resize(
                (max(8, int(f.shape[1] * scale)), max(8, int(f.shape[0] * scale))),
                Image.Resampling.BILINEAR,
            )
            im = small.resize((f.shape[1], f.shape[0]), Image.Resampling.BILINEAR)
        buf = BytesIO()
        im.save(buf, format="JPEG", quality=q)
        out.append(np.asarray(Image.open(buf).convert("RGB")))
    return np.stack(out)


def _attack_capture(
    rng: np.random.Generator,
    spec: ClipSpec,
    atlas: Atlas,
    cfg: SynthConfig,
    duration: float,
    live: Capture,
) -> tuple[Capture, dict[str, Any]]:
    """A camera filming a print or a screen that shows the subject (the attack instrument)."""
    edgeless = spec.variant in ("closeup", "rig", "rig-matched")
    rig = spec.variant.startswith("rig")
    __, cam_tan_h = _half_tans(live.hfov, live.width, live.height)
    if spec.attack == "print":
        dc = (
            rng.uniform(0.06, 0.12)
            if rig
            else rng.uniform(0.12, 0.2)
            if edgeless
            else rng.uniform(0.2, 0.4)
        )
        src_w, src_h = 2 * live.width, 2 * live.height
        src = _live_capture(rng, atlas, cfg, duration, "left", src_w, src_h, amplitude=0.0)
        src.hfov = rng.uniform(50, 70)
        src_tan_w, src_tan_h = _half_tans(src.hfov, src_w, src_h)
        dp, apparent = _source_distance(rng, edgeless, cam_tan_h, src_tan_h)
        src.path = DevicePath(target=FACE, eye=np.array([dp, 0.0, rng.normal(0, 0.02)]))
        photo = _linear(src.frames(np.array([0.0]), rng))[0]
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
        look: PrintLook | ScreenLook = PrintLook.sample(rng)
        bend = 0.0 if rng.random() < 0.4 or rig else rng.uniform(-3.0, 3.0)

        def content(t: float) -> np.ndarray:
            return paper
    else:
        dc = (
            rng.uniform(0.05, 0.1)
            if rig
            else rng.uniform(0.1, 0.18)
            if edgeless
            else rng.uniform(0.18, 0.35)
        )
        matched = spec.variant in ("rig-matched", "matched")
        src_chal = spec.challenge if matched else str(rng.choice(CHALLENGES))
        src_fps = rng.uniform(15, 25)
        # Replayed videos are lower in resolution than the capture (compressed, upscaled).
        sw, sh = int(live.width * 0.6), int(live.height * 0.6)
        src = _live_capture(rng, atlas, cfg, duration + 0.5, src_chal, sw, sh, distance=1.0)
        src_tan_w, src_tan_h = _half_tans(src.hfov, sw, sh)
        dp, apparent = _source_distance(rng, edgeless, cam_tan_h, src_tan_h)
        if isinstance(src.path, DevicePath):
            rel = src.path.eye - src.path.target
            src.path.eye = src.path.target + rel * dp / np.linalg.norm(rel)
        t_src = np.arange(0.0, duration + 0.5, 1.0 / src_fps)
        video = _linear(src.frames(t_src, rng))
        offset = rng.uniform(-0.15, 0.15) if matched else rng.uniform(0.0, 0.5)
        look = ScreenLook.sample(rng)
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
