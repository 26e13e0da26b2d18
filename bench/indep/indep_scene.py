"""Procedural textures and a vectorised ray caster (room box, head, body, flat planes)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SKIN = np.array(
    [
        [255, 226, 200],
        [241, 194, 150],
        [224, 172, 125],
        [198, 134, 90],
        [160, 105, 70],
        [120, 78, 52],
        [85, 55, 38],
        [62, 42, 32],
    ],
    float,
)
HAIR = np.array(
    [
        [20, 16, 14],
        [55, 35, 22],
        [110, 75, 40],
        [200, 160, 100],
        [150, 60, 30],
        [170, 170, 165],
        [35, 25, 20],
    ],
    float,
)
HEAD_AXES = np.array([0.075, 0.105, 0.085])


def lin(srgb: np.ndarray) -> np.ndarray:
    return (np.asarray(srgb, np.float32) / 255.0) ** 2.2


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int, ch: int = 1) -> np.ndarray:
    small = rng.normal(0, 1, (max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w)), ch))
    big = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return big.reshape(h, w, ch)


# ---------------------------------------------------------------- textures (sRGB uint8 drawn)


def wall_texture(rng: np.random.Generator, w: int, h: int, kind: str) -> np.ndarray:
    """A wall/floor texture, linear RGB float32 (h, w, 3)."""
    base = rng.uniform(60, 235, 3)
    img = np.tile(base.astype(np.float32), (h, w, 1))
    img += smooth_noise(rng, h, w, 6, 3) * rng.uniform(3, 18)
    grad = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None] * rng.uniform(-25, 25)
    img += grad
    if kind == "plain":
        img += rng.normal(0, 1.5, img.shape).astype(np.float32)
        return lin(np.clip(img, 0, 255))
    if kind == "tiles":
        step = int(rng.integers(18, 60))
        col = base * rng.uniform(0.5, 0.8)
        for x in range(0, w, step):
            img[:, x : x + 2] = col
        for y in range(0, h, step):
            img[y : y + 2] = col
    if kind in ("posters", "shelves", "tiles"):
        for _ in range(int(rng.integers(2, 7))):
            pw, ph = int(rng.integers(w // 12, w // 4)), int(rng.integers(h // 10, h // 3))
            x0, y0 = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
            c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
            a = np.linspace(0, 1, pw)[None, :, None]
            img[y0 : y0 + ph, x0 : x0 + pw] = (c1 * (1 - a) + c2 * a).astype(np.float32)
            sub = img[y0 : y0 + ph, x0 : x0 + pw]
            for _ in range(int(rng.integers(1, 5))):
                cc = tuple(float(v) for v in rng.uniform(0, 255, 3))
                cen = (int(rng.integers(0, pw)), int(rng.integers(0, ph)))
                if rng.random() < 0.5:
                    cv2.circle(sub, cen, int(rng.integers(3, max(4, pw // 3))), cc, -1)
                else:
                    cv2.putText(
                        sub,
                        "ABCXYZ"[: int(rng.integers(2, 6))],
                        cen,
                        cv2.FONT_HERSHEY_SIMPLEX,
                        rng.uniform(0.4, 1.5),
                        cc,
                        2,
                    )
            cv2.rectangle(img, (x0, y0), (x0 + pw, y0 + ph), (20, 20, 20), 2)
    if kind == "shelves":
        for y in np.linspace(h * 0.2, h * 0.85, int(rng.integers(2, 5))).astype(int):
            img[y : y + 8] = base * 0.45
            x = int(rng.integers(0, 30))
            while x < w - 20:
                bw, bh = int(rng.integers(6, 22)), int(rng.integers(25, 60))
                img[max(0, y - bh) : y, x : x + bw] = rng.uniform(20, 230, 3)
                x += bw + int(rng.integers(0, 12))
    return lin(np.clip(img, 0, 255))


@dataclass
class Face:
    """A face chart on the unit sphere's (azimuth, elevation) grid: open and closed eyes."""

    open_: np.ndarray
    closed: np.ndarray
    cloth: np.ndarray
    extra: dict = field(default_factory=dict)


def face_chart(rng: np.random.Generator, w: int = 1024, h: int = 512) -> Face:
    ax, ay = HEAD_AXES[0], HEAD_AXES[1]

    def pt(x: float, y: float) -> tuple[float, float]:
        th = np.arcsin(np.clip(y / ay, -1, 1))
        ph = np.arcsin(np.clip(x / (ax * np.cos(th)), -1, 1))
        return (ph + np.pi) / (2 * np.pi) * w, (np.pi / 2 - th) / np.pi * h

    def ell(
        cx: float, cy: float, rx: float, ry: float, a0: float = 0, a1: float = 360
    ) -> np.ndarray:
        a = np.deg2rad(np.linspace(a0, a1, 48))
        return np.array([pt(cx + rx * np.cos(q), cy + ry * np.sin(q)) for q in a]) * 16

    def fill(img: np.ndarray, poly: np.ndarray, col: np.ndarray) -> None:
        cv2.fillPoly(img, [poly.astype(np.int32)], tuple(float(c) for c in col), cv2.LINE_AA, 4)

    def line(img: np.ndarray, poly: np.ndarray, col: np.ndarray, th: int) -> None:
        cv2.polylines(
            img, [poly.astype(np.int32)], False, tuple(float(c) for c in col), th, cv2.LINE_AA, 4
        )

    k = rng.uniform(0, len(SKIN) - 1)
    skin = SKIN[int(k)] * (1 - k % 1) + SKIN[min(int(k) + 1, len(SKIN) - 1)] * (k % 1)
    skin = skin * rng.uniform(0.92, 1.05, 3)
    hair = HAIR[rng.integers(len(HAIR))] * rng.uniform(0.8, 1.2)
    img = np.tile(skin.astype(np.float32), (h, w, 1))
    img *= 1 + 0.05 * smooth_noise(rng, h, w, 20, 1)
    lips = skin * np.array([0.85, 0.55, 0.55])
    for s in (-1, 1):  # cheeks, eye sockets
        fill(img, ell(s * 0.045, -0.025, 0.018, 0.014), skin * np.array([1.02, 0.95, 0.93]))
        fill(img, ell(s * 0.032, 0.006, 0.021, 0.012), skin * 0.85)
    # nose: side shade, tip highlight, nostrils, shadow below
    fill(img, ell(-0.007, -0.012, 0.004, 0.02), skin * 0.85)
    fill(img, ell(0.002, -0.024, 0.008, 0.006), np.minimum(skin * 1.1, 255))
    for s in (-1, 1):
        fill(img, ell(s * 0.008, -0.032, 0.0035, 0.002), skin * 0.35)
    fill(img, ell(0.0, -0.038, 0.012, 0.003), skin * 0.8)
    if rng.random() < 0.12:  # stubble
        fill(img, ell(0.0, -0.075, 0.045, 0.025), skin * 0.75)
    fill(img, ell(0.0, -0.052, 0.022, 0.005), lips * 0.9)
    fill(img, ell(0.0, -0.061, 0.02, 0.006), lips)
    line(
        img,
        np.array([pt(x, -0.056 + 4 * x * x) for x in np.linspace(-0.024, 0.024, 20)]) * 16,
        skin * 0.3,
        2,
    )
    closed = img.copy()
    iris = np.array([[70, 45, 25], [40, 25, 15], [60, 100, 150], [70, 110, 70]])[rng.integers(4)]
    for s in (-1, 1):
        cx = s * 0.032
        fill(img, ell(cx, 0.005, 0.014, 0.0055), np.array([235, 232, 226]))
        fill(img, ell(cx, 0.005, 0.0055, 0.0055), iris)
        fill(img, ell(cx, 0.005, 0.0025, 0.0025), np.array([10, 10, 10]))
        line(img, ell(cx, 0.005, 0.0145, 0.0058, 0, 180), np.array([25, 20, 20]), 3)
        line(closed, ell(cx, 0.004, 0.0145, 0.002, 180, 360), np.array([30, 25, 25]), 3)
        for im in (img, closed):  # brows
            line(im, ell(cx, 0.012, 0.018, 0.008, 30, 150), hair * 0.7, 7)
    # hair: above a hairline that descends toward the sides and covers the back
    yy, xx = np.mgrid[0:h, 0:w]
    phi = (xx + 0.5) / w * 2 * np.pi - np.pi
    th = np.pi / 2 - (yy + 0.5) / h * np.pi
    front = rng.uniform(0.45, 0.75) if rng.random() > 0.1 else 1.2
    side = rng.uniform(-0.1, 0.3)
    line_th = front + (side - front) * np.clip((np.abs(phi) - 0.5) / 0.9, 0, 1)
    line_th = np.where(np.abs(phi) > 1.9, rng.uniform(-0.6, -0.2), line_th)
    mask = (th > line_th)[..., None].astype(np.float32)
    mask = cv2.GaussianBlur(mask, (0, 0), 2)[..., None]
    tex = hair * (1 + 0.25 * smooth_noise(rng, h, w, 80, 1))
    img = img * (1 - mask) + tex * mask
    closed = closed * (1 - mask) + tex * mask
    if rng.random() < 0.15:  # glasses
        fr = np.array([15, 15, 15]) if rng.random() < 0.7 else rng.uniform(0, 200, 3)
        for im in (img, closed):
            for s in (-1, 1):
                line(im, ell(s * 0.032, 0.004, 0.02, 0.014), fr, 6)
            line(im, np.array([pt(x, 0.008) for x in np.linspace(-0.012, 0.012, 8)]) * 16, fr, 5)
    cloth = np.tile(rng.uniform(20, 230, 3).astype(np.float32), (256, 256, 1))
    cloth *= 1 + 0.08 * smooth_noise(rng, 256, 256, 12, 1)
    return Face(
        lin(np.clip(img, 0, 255)), lin(np.clip(closed, 0, 255)), lin(np.clip(cloth, 0, 255))
    )


# ---------------------------------------------------------------- geometry


def rays(w: int, h: int, f: float) -> np.ndarray:
    """Device-frame ray directions (h*w, 3): u along device -x, v along device -y, axis +z."""
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    d = np.stack([-(u - w / 2) / f, -(v - h / 2) / f, np.ones_like(u)], -1).reshape(-1, 3)
    return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


def hit_ellipsoid(
    o: np.ndarray, d: np.ndarray, c: np.ndarray, r: np.ndarray, axes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ray/ellipsoid: distance (inf if none) and local unit-sphere hit coordinates."""
    ol = ((o - c) @ r) / axes
    dl = (d @ r) / axes
    a = (dl * dl).sum(1)
    b = 2 * (dl @ ol)
    cc = float(ol @ ol) - 1
    disc = b * b - 4 * a * cc
    t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    t = np.where((disc > 0) & (t > 0), t, np.inf)
    return t.astype(np.float32), (ol[None] + np.where(np.isfinite(t), t, 0)[:, None] * dl)


def hit_plane(
    o: np.ndarray, d: np.ndarray, c: np.ndarray, r: np.ndarray, half: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Ray/rectangle with columns of r = (right, down, normal): distance and (s, q) in [0,1]."""
    n = r[:, 2]
    den = d @ n
    t = ((c - o) @ n) / np.where(np.abs(den) < 1e-9, 1e-9, den)
    p = o[None] + t[:, None] * d - c[None]
    s = (p @ r[:, 0]) / (2 * half[0]) + 0.5
    q = (p @ r[:, 1]) / (2 * half[1]) + 0.5
    ok = (t > 0) & (s >= 0) & (s <= 1) & (q >= 0) & (q <= 1)
    return np.where(ok, t, np.inf).astype(np.float32), np.stack([s, q], 1)


def sample(tex: np.ndarray, x: np.ndarray, y: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear texture lookup at pixel coordinates (flattened maps) -> (N, 3)."""
    mx = x.reshape(shape).astype(np.float32)
    my = y.reshape(shape).astype(np.float32)
    out = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out.reshape(-1, 3)


@dataclass
class Room:
    lo: np.ndarray
    hi: np.ndarray
    tex: list  # 6 textures: -X, +X, -Y, +Y, -Z, +Z walls
    scale: float = 200.0  # texture pixels per metre


def make_room(rng: np.random.Generator, back: float) -> Room:
    lo = np.array([-rng.uniform(1.0, 2.5), -back, -rng.uniform(1.1, 1.5)])
    hi = np.array([rng.uniform(1.0, 2.5), rng.uniform(1.0, 3.0), rng.uniform(1.0, 1.6)])
    kinds = ["plain", "posters", "shelves", "tiles"]
    tex = []
    for i in range(6):
        kind = (
            kinds[rng.integers(4)]
            if i != 2
            else ["plain", "posters", "shelves", "tiles", "posters"][rng.integers(5)]
        )
        if i == 4:
            kind = "tiles" if rng.random() < 0.5 else "plain"
        tex.append(wall_texture(rng, 1024 if i == 2 else 512, 640 if i == 2 else 512, kind))
    return Room(lo, hi, tex)


def shade_room(
    room: Room, o: np.ndarray, d: np.ndarray, shape: tuple[int, int], light: np.ndarray, amb: float
) -> tuple[np.ndarray, np.ndarray]:
    """Radiance (N,3) and distance of the room box seen from inside."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tl = (room.lo[None] - o[None]) / d
        th = (room.hi[None] - o[None]) / d
    tf = np.where(d > 0, th, tl)
    tf = np.where(np.isfinite(tf), tf, np.inf)
    ax = np.argmin(tf, 1)
    t = tf[np.arange(d.shape[0]), ax]
    p = o[None] + t[:, None] * d
    col = np.zeros_like(d)
    span = room.hi - room.lo
    for a in range(3):
        for side in (0, 1):
            sel = (ax == a) & ((d[:, a] > 0) == bool(side))
            if not sel.any():
                continue
            tex = room.tex[2 * a + side]
            b1, b2 = [k for k in range(3) if k != a]
            th_, tw_ = tex.shape[:2]
            x = (p[:, b1] - room.lo[b1]) / span[b1] * tw_
            y = (room.hi[b2] - p[:, b2]) / span[b2] * th_
            n = np.zeros(3)
            n[a] = -1.0 if side else 1.0
            lam = amb + (1 - amb) * max(0.0, float(n @ light))
            col[sel] = sample(tex, x, y, shape)[sel] * lam
    return col, t.astype(np.float32)
