"""A camera rig for physics tests: exact frames and the IMU of the same motion.

A camera that only rotates sees a distant textured scene; every frame is the exact homography
A·Rᵀ·A⁻¹ of one wide canvas, with A the contract's projection (u along −x, v along −y), and the
gyro reads the same angular velocity. A camera that also moves (an arc about a point in front
of it, as a hand swings a phone about the face) sees a textured plane at a known depth d: the
homography is then A·Rᵀ·(I − c·nᵀ/d)·A⁻¹ (c the camera's position, n the plane's normal), still
exact, and the accelerometer reads Rᵀ(c̈ − g) as the contract says.
"""

from __future__ import annotations

import cv2
import numpy as np

from liveness.motion import focal_px
from liveness.rotation import rotvec_to_matrix

W, H, HFOV = 240, 320, 65.0
F = focal_px(W, HFOV)
MARGIN = 160  # canvas border: room for the view to turn


def projection(cx: float, cy: float) -> np.ndarray:
    """Pixel ∝ A · ray, with the contract's image axes (u along −x, v along −y)."""
    return np.array([[-F, 0.0, cx], [0.0, -F, cy], [0.0, 0.0, 1.0]])


def canvas(seed: int) -> np.ndarray:
    """A textured far wall seen by the rig at rest, with room around it (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H + 2 * MARGIN, W + 2 * MARGIN)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return np.repeat((255 * img).astype(np.uint8)[..., None], 3, axis=-1)


def tiled(seed: int, tile_px: int) -> np.ndarray:
    """A tiled wall (uint8 RGB): dark grout lines every tile_px px over faint grain, a periodic
    texture whose corners all look alike."""
    rng = np.random.default_rng(seed)
    hh, ww = H + 2 * MARGIN, W + 2 * MARGIN
    grain = cv2.GaussianBlur(rng.random((hh, ww)).astype(np.float32), (0, 0), 2.0)
    img = 0.75 + 0.01 * (grain - grain.mean()) / grain.std()
    img[:, np.arange(ww) % tile_px == 0] = 0.25
    img[np.arange(hh) % tile_px == 0, :] = 0.25
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    return np.repeat((255 * np.clip(img, 0, 1)).astype(np.uint8)[..., None], 3, axis=-1)


def render(big: np.ndarray, rots: np.ndarray, pos: np.ndarray | None = None, depth: float = 1.0):
    """Frames (T, H, W, 3) of the canvas seen after device rotations rots (T, 3, 3) (dev->world,
    world = the device at rest): pixel_t ∝ A Rᵀ A_c⁻¹ canvas pixel; with camera positions pos
    (T, 3) m, the canvas is a plane `depth` m in front of the rest pose: A Rᵀ (I − c nᵀ/d) A_c⁻¹."""
    a = projection(W / 2, H / 2)
    a_c_inv = np.linalg.inv(projection(W / 2 + MARGIN, H / 2 + MARGIN))
    pos = np.zeros((len(rots), 3)) if pos is None else pos
    n = np.array([0.0, 0.0, 1.0])
    out = [
        cv2.warpPerspective(
            big,
            a @ r.T @ (np.eye(3) - np.outer(c, n) / depth) @ a_c_inv,
            (W, H),
            flags=cv2.INTER_CUBIC,
        )
        for r, c in zip(rots, pos, strict=True)
    ]
    return np.stack(out)


def omega(t: np.ndarray, seed: int, tremor: float = 1.0) -> np.ndarray:
    """Angular velocity (N, 3) rad/s of a hand-held move: a slow turn, sway and tremor."""
    rng = np.random.default_rng(seed)
    slow = np.radians(12.0) * np.sin(np.pi * t / 2.0)[:, None] * rng.normal(0, 1, 3)
    out = slow * np.array([1.0, 1.0, 0.3])
    for f_lo, f_hi, amp in ((0.8, 2.5, 4.0), (3.0, 7.0, tremor * 3.0)):
        freq, ph = rng.uniform(f_lo, f_hi, 3), rng.uniform(0, 2 * np.pi, 3)
        out = out + np.radians(amp) * np.sin(2 * np.pi * freq[None] * t[:, None] + ph)
    return out


def poses(w: np.ndarray, arc_m: float, dt: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Device rotations (N, 3, 3) dev->world integrated from body rates w (N, 3) rad/s, and the
    camera positions (N, 3) m on an arc about the point arc_m in front of the rest pose (its
    optical axis stays through that point: c = p − R·p; 0: turning in place)."""
    rots = [np.eye(3)]
    for x in w[:-1]:
        rots.append(rots[-1] @ rotvec_to_matrix(x * dt))  # body-frame rates
    r = np.array(rots)
    pivot = np.array([0.0, 0.0, arc_m])
    return r, pivot - r @ pivot


def capture(
    seed: int,
    fps: float = 15.0,
    imu_hz: float = 100.0,
    stabilise: bool = False,
    arc_m: float = 0.0,
    plane_m: float = 1.0,
    tremor: float = 1.0,
    stabilise_ms: float = 80.0,
    speed: float = 1.0,
    tile_px: int = 0,
):
    """(frames, frame_t_ms, imu) of one rig capture; `stabilise` removes the sway and tremor
    from the image (not from the gyro), as electronic stabilisation would.

    arc_m: 0 turns the camera in place before a far scene (rotation only). Otherwise the camera
    swings on an arc about a point arc_m in front of it (its view stays on that point, as a
    phone swung about the face) and sees a textured plane plane_m in front of its rest pose.
    tremor: scales the 3–7 Hz tremor (0: a steady hand, sway and the slow turn only).
    stabilise_ms: the width (σ) of the stabiliser's Gaussian smoothing of the image's motion.
    speed: scales the whole move (1: peaks of ~40°/s).
    tile_px: > 0 films a tiled wall (tiled) with tiles that many px wide at rest, not grain.
    """
    dt = 1e-3
    t = np.arange(0.0, 2.2, dt)
    w = speed * omega(t, seed, tremor)
    w_img = speed * omega(t, seed, tremor=0.0) if stabilise else w
    if stabilise:  # keep only the slow turn and a little sway
        half = int(3 * stabilise_ms)
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / stabilise_ms) ** 2)
        w_img = np.column_stack([np.convolve(w_img[:, j], k / k.sum(), "same") for j in range(3)])
    rots_arr, pos = poses(w_img, arc_m, dt)
    ft = np.arange(0.05, 2.1, 1.0 / fps)
    fi = np.round(ft / dt).astype(int)
    depth = plane_m if arc_m > 0 else 1.0
    big = tiled(seed, tile_px) if tile_px else canvas(seed)
    frames = render(big, rots_arr[fi], pos[fi] if arc_m > 0 else None, depth)
    it = np.arange(0.0, 2.2, 1.0 / imu_hz)
    ii = np.round(it / dt).astype(int).clip(1, len(t) - 2)
    gyro = w[ii]
    # The accelerometer: Rᵀ (c̈ − g), gravity along the rest pose's −y (phone held upright).
    c_dd = (pos[ii + 1] - 2 * pos[ii] + pos[ii - 1]) / dt**2
    acc = np.einsum("nji,nj->ni", rots_arr[ii], c_dd + np.array([0.0, 9.81, 0.0]))
    imu = np.column_stack([1000 * it, acc, gyro])
    return frames, 1000 * ft, imu


def render_ball(
    big: np.ndarray,
    rots: np.ndarray,
    pos: np.ndarray,
    centre_m: float,
    radius_m: float,
    wall_m: float = 1.5,
) -> np.ndarray:
    """Frames (T, H, W, 3) of a textured ball (a head-sized 3-D surface) `centre_m` in front of
    the rest pose, before a textured wall `wall_m` away: each pixel's ray (the contract's
    projection, turned by rots (T, 3, 3) dev->world, from positions pos (T, 3)) is cut with the
    ball, else with the wall. The ball's texture is the canvas laid on by longitude and
    latitude, the wall's is the canvas as seen from the rest pose."""
    uu, vv = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    rays = np.stack([-(uu - W / 2) / F, -(vv - H / 2) / F, np.ones_like(uu)], -1)  # (H, W, 3)
    centre = np.array([0.0, 0.0, centre_m])
    ch, cw = big.shape[0] / 2, big.shape[1] / 2
    out = []
    for r, c in zip(rots, pos, strict=True):
        d = rays @ r.T  # world directions
        oc = c - centre
        b = np.einsum("hwk,k->hw", d, oc)
        a = np.einsum("hwk,hwk->hw", d, d)
        disc = b * b - a * (oc @ oc - radius_m**2)
        s_ball = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        hit = (disc > 0) & (s_ball > 0)
        p = c + s_ball[..., None] * d
        n = (p - centre) / radius_m
        lon, lat = np.arctan2(n[..., 0], -n[..., 2]), np.arcsin(np.clip(n[..., 1], -1, 1))
        ball_x, ball_y = cw - 120.0 * lon, ch - 120.0 * lat  # 120 canvas px per radian
        s_wall = (wall_m - c[2]) / d[..., 2]
        q = c + s_wall[..., None] * d
        wall_x, wall_y = cw - F * q[..., 0] / wall_m, ch - F * q[..., 1] / wall_m
        mx = np.where(hit, ball_x, wall_x).astype(np.float32)
        my = np.where(hit, ball_y, wall_y).astype(np.float32)
        out.append(cv2.remap(big, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


def ball_capture(
    seed: int, fps: float = 15.0, arc_m: float = 0.35, radius_m: float = 0.09, flat: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(frames, frame_t_ms) of the camera swung on an arc about a head-sized textured ball
    `arc_m` in front of it (its view stays on the ball's centre), or turned in place with
    arc_m = 0 (the ball then 0.35 m away). `flat`: the same move before a textured plane
    through the ball's centre instead (a print of it, as far away)."""
    dt = 1e-3
    t = np.arange(0.0, 2.2, dt)
    rots_arr, pos = poses(omega(t, seed), arc_m, dt)
    ft = np.arange(0.05, 2.1, 1.0 / fps)
    fi = np.round(ft / dt).astype(int)
    dist = arc_m or 0.35
    if flat:
        return render(canvas(seed), rots_arr[fi], pos[fi], dist), 1000 * ft
    return render_ball(canvas(seed), rots_arr[fi], pos[fi], dist, radius_m), 1000 * ft


def screen_capture(
    seed: int, recorded: int, fps: float = 15.0, arc_m: float = 0.3, screen_m: float = 0.3
):
    """(frames, frame_t_ms, imu) of a screen replaying a recording, filmed by a phone swung on
    an arc: the screen fills the view `screen_m` m away and its picture moves with the recording
    camera's own hand-held turn (another move, `recorded` its seed) while the IMU is the filming
    phone's (capture's arc, `seed`)."""
    _, ft, imu = capture(seed, fps=fps, arc_m=arc_m, plane_m=screen_m)
    dt = 1e-3
    t = np.arange(0.0, 2.2, dt)
    rots, pos = poses(omega(t, seed), arc_m, dt)
    rec, _ = poses(omega(t, recorded), 0.0, dt)
    fi = np.round(ft / 1000.0 / dt).astype(int)
    big = canvas(seed)
    a_c = projection(W / 2 + MARGIN, H / 2 + MARGIN)
    size = (big.shape[1], big.shape[0])
    frames = [
        render(cv2.warpPerspective(big, a_c @ rec[i].T @ np.linalg.inv(a_c), size,
                                   flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT),
               rots[i : i + 1], pos[i : i + 1], screen_m)[0]
        for i in fi
    ]  # fmt: skip
    return np.stack(frames), ft, imu
