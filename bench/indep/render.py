"""Render independent face-liveness test clips (live, print, replay, injection) to disk."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from indep_clip import (
    DIRS,
    PROFILES,
    Plane,
    Scene,
    develop,
    fidx,
    frame_times,
    frontal_photo,
    imu_rows,
    make_face,
    make_look,
    make_scene,
    new_motion,
    plane_pose,
    print_texture,
    render_lin,
    screen_texture,
    video_pose,
)
from indep_motion import R_UPRIGHT, Motion, expm_so3, true_imu
from indep_scene import make_room, rays

SHARES = [
    (("none", "normal"), 0.35),
    (("none", "stabilised"), 0.08),
    (("print", "edgeless"), 0.075),
    (("print", "held"), 0.075),
    (("replay", "edgeless"), 0.075),
    (("replay", "held"), 0.075),
    (("injection", "rest"), 0.0675),
    (("injection", "shifted"), 0.0675),
    (("injection", "same-direction"), 0.0675),
    (("injection", "unrelated"), 0.0675),
]


def plan(n: int, seed: int) -> list[tuple[str, str, bool]]:
    """Kinds per clip index with the target shares (largest remainder), ~5 % without IMU."""
    raw = np.array([s for _, s in SHARES]) * n
    cnt = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - cnt))[: n - cnt.sum()]:
        cnt[k] += 1
    kinds = [SHARES[k][0] for k in range(len(SHARES)) for _ in range(cnt[k])]
    rng = np.random.default_rng([seed, 99])
    rng.shuffle(kinds)
    ok = [i for i, (a, v) in enumerate(kinds) if a != "injection" and v != "stabilised"]
    noimu = set(rng.choice(ok, size=min(len(ok), round(0.05 * n)), replace=False).tolist())
    return [(a, v, i in noimu) for i, (a, v) in enumerate(kinds)]


def edgeless_half(dist: float, hfov: float, w: int, h: int, aspect: float) -> tuple[float, float]:
    hh_ = np.arctan(np.tan(np.deg2rad(hfov / 2)) * h / w)
    half_h = dist * np.tan(hh_ + np.deg2rad(15)) * 1.15
    half_w = dist * np.tan(np.deg2rad(hfov / 2 + 15)) * 1.15
    half_h = max(half_h, half_w / aspect)
    return half_h * aspect, half_h


def make_clip(args: tuple[int, int, str, str, str, bool, str]) -> str:
    seed, i, profile, attack, variant, noimu, out = args
    rng = np.random.default_rng([seed, i, 7])
    prof = PROFILES[profile]
    w, h = prof["size"]
    hfov = float(rng.uniform(*prof["hfov"]))
    f = (w / 2) / np.tan(np.deg2rad(hfov / 2))
    rd = rays(w, h, f)
    dur = float(rng.uniform(1.8, 2.3))
    ch = str(DIRS[rng.integers(4)])
    sc = make_scene(rng, dur, make_face(rng))
    ts, fps = frame_times(rng, prof, dur)
    crop = bool(rng.random() < 0.12)
    meta: dict = {
        "label": "live" if attack == "none" else "spoof",
        "attack": attack,
        "variant": variant,
        "subject": f"indep-{seed}-{i:04d}",
        "challenge": ch,
        "profile": profile,
        "true_hfov_deg": round(hfov, 2),
        "fps": round(fps, 2),
        "low_light": sc.look.gain < 0.4,
        "generator": "bench/indep",
    }
    if rng.random() < 0.3:
        meta["hfov_deg"] = round(hfov, 2)
    frames = []
    if attack in ("none", "injection"):
        m = new_motion(rng, dur, float(rng.uniform(0.3, 0.5)), ch, crop)
        for t in ts:
            k = fidx(t)
            rc, pc = video_pose(m, k, variant == "stabilised")
            frames.append(render_lin(sc, rd, (h, w), rc, pc, m.r_head[k], m.p_head[k], t))
        look = sc.look
    else:
        dist = float(rng.uniform(0.2, 0.4))
        m = new_motion(rng, dur, dist, ch, False)
        att = Scene(make_room(rng, rng.uniform(1.0, 4.0)), None, make_look(rng), [])
        look = att.look
        held = variant == "held"
        if attack == "print":
            tex = print_texture(rng, frontal_photo(sc, rng, 300, 400), held)
            glare = float(rng.uniform(0.1, 0.5)) if rng.random() < 0.3 else 0.0
        else:
            cw, chh = (180, 240) if profile == "phone" else (240, 320)
            cm = new_motion(
                rng, dur + 0.5, float(rng.uniform(0.3, 0.5)), str(DIRS[rng.integers(4)]), False
            )
            crd = rays(cw, chh, (cw / 2) / np.tan(np.deg2rad(rng.uniform(55, 70) / 2)))
            gam, bright = float(rng.uniform(1.6, 2.6)), float(rng.uniform(0.5, 1.3))
            glare = float(rng.uniform(0.2, 1.0)) if rng.random() < 0.6 else 0.0
            cache: dict[int, np.ndarray] = {}
        aspect = 0.75
        if held:  # the attacker fills 45-85 % of the frame width with the print/screen
            width = rng.uniform(0.45, 0.85) * 2 * dist * np.tan(np.deg2rad(hfov / 2))
            half = (width / 2, width / 2 / aspect)
        else:
            half = edgeless_half(dist, hfov, w, h, aspect)
        px = 2 * half[0] * f / dist  # plane width in camera pixels
        ratio = (3 * cw * (1.08 if held else 1.0) if attack == "replay" else tex.shape[1]) / px
        blur = 0.45 * ratio
        if attack == "print" and blur > 0.3:
            tex = cv2.GaussianBlur(tex, (0, 0), blur)
        for t in ts:
            k = fidx(t)
            if attack == "replay":
                ci = int(t * 30)
                if ci not in cache:
                    kc = fidx(ci / 30)
                    lin = render_lin(
                        sc,
                        crd,
                        (chh, cw),
                        cm.r_dev[kc],
                        cm.p_dev[kc],
                        cm.r_head[kc],
                        cm.p_head[kc],
                        ci / 30,
                    )
                    tx = screen_texture(develop(rng, lin, sc.look), gam, bright, held)
                    # optics blur the grid before the sensor samples it (slight moiré remains)
                    cache[ci] = cv2.GaussianBlur(tx, (0, 0), blur) if blur > 0.3 else tx
                tex = cache[ci]
            r_pl, c_pl = plane_pose(m, k)
            pl = Plane(tex, half, attack == "replay", glare)
            frames.append(
                render_lin(att, rd, (h, w), m.r_dev[k], m.p_dev[k], None, None, t, (pl, r_pl, c_pl))
            )
    name = f"ix{seed}_{i:04d}"
    d = Path(out) / name
    (d / "frames").mkdir(parents=True, exist_ok=True)
    q = int(rng.integers(60, 93))
    meta["jpeg_q"] = q
    t0_ms = float(rng.uniform(2000, 90000))
    stamps = t0_ms + 1000 * ts + rng.uniform(-prof["jitter_ms"], prof["jitter_ms"], ts.size)
    for j, lin in enumerate(frames):
        img = develop(rng, lin, look)
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        assert ok
        (d / "frames" / f"{j:05d}.jpg").write_bytes(buf.tobytes())
    rows = ["index,t_ms"] + [f"{j},{s:.3f}" for j, s in enumerate(stamps)]
    (d / "frames.csv").write_text("\n".join(rows) + "\n")
    if not noimu:
        rate = float(rng.uniform(*prof["imu"]))
        offset = float(rng.choice([-1, 1]) * rng.uniform(0.01, 0.06))
        shift, mode, other = 0.0, "genuine", None
        if variant == "rest":
            mode = "rest"
        elif variant == "shifted":
            shift = float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.4))
        elif variant in ("same-direction", "unrelated"):
            oc = (
                ch if variant == "same-direction" else str(rng.choice([x for x in DIRS if x != ch]))
            )
            other, mode = new_motion(rng, dur, float(rng.uniform(0.3, 0.5)), oc, False), "other"
            meta["imu_challenge"] = oc
        st, imu = imu_rows(rng, m, dur, rate, t0_ms, offset, shift, mode, other)
        meta.update(
            imu_hz=round(rate, 1),
            imu_offset_ms=round(offset * 1000, 1),
            imu_shift_ms=round(shift * 1000, 1),
        )
        lines = ["t_ms,ax,ay,az,gx,gy,gz"] + [
            f"{s:.3f}," + ",".join(f"{v:.5f}" for v in r) for s, r in zip(st, imu, strict=True)
        ]
        (d / "imu.csv").write_text("\n".join(lines) + "\n")
    meta.update(amp_deg=round(m.amp_deg, 2), arc_frac=round(m.arc_frac, 3), has_imu=not noimu)
    (d / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return name


def self_check() -> None:
    """Gravity reading at rest, and the image motion of a known device rotation."""
    t = np.arange(-0.7, 1.7, 0.001)
    n = t.size
    for r0, want in ((R_UPRIGHT, (0, 9.81, 0)), (np.eye(3), (0, 0, 9.81))):
        m = Motion(
            t,
            np.tile(r0, (n, 1, 1)),
            np.tile(r0, (n, 1, 1)),
            np.zeros((n, 3)),
            np.tile(np.eye(3), (n, 1, 1)),
            np.zeros((n, 3)),
            "left",
            0.0,
            0.0,
        )
        acc = true_imu(m)[1][n // 2]
        print(f"accel at rest {np.round(acc, 3)} expected {want}")
        assert np.allclose(acc, want, atol=1e-6)
    rng = np.random.default_rng(0)
    sc = make_scene(rng, 1.0, None)
    w, h, f = 240, 320, 200.0
    rd = rays(w, h, f)
    for axis, name in ((1, "gy"), (0, "gx")):
        ang = np.deg2rad(2.0) * np.clip(t, 0, 1)
        v = np.zeros((n, 3))
        v[:, axis] = ang
        r = R_UPRIGHT @ expm_so3(v)  # rotation about the device's own axis
        m = Motion(t, r, r, np.zeros((n, 3)), r, np.zeros((n, 3)), "left", 0.0, 0.0)
        gyro = true_imu(m)[0]
        integ = np.deg2rad(2.0)
        rate = gyro[fidx(0.5)]
        a = render_lin(sc, rd, (h, w), r[fidx(0.0)], np.zeros(3), None, None, 0.0).mean(2)
        b = render_lin(sc, rd, (h, w), r[fidx(1.0)], np.zeros(3), None, None, 1.0).mean(2)
        (dx, dy), _ = cv2.phaseCorrelate(a.astype(np.float64), b.astype(np.float64))
        print(
            f"rotation +2 deg about device {'xy'[axis]}: gyro {name}={rate[axis]:+.4f} rad/s "
            f"(others {np.round(np.delete(rate, axis), 5)}); image shift du={dx:+.2f} "
            f"dv={dy:+.2f} px; f*angle={f * integ:.2f}"
        )
        if axis == 1:  # +gy: the scene moves toward +u (right) by f*angle
            assert rate[1] > 0 and abs(dx - f * integ) < 0.8 and abs(dy) < 0.8
        else:  # +gx: the scene moves toward -v (up)
            assert rate[0] > 0 and abs(dy + f * integ) < 0.8 and abs(dx) < 0.8
    print("self-check ok")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="phone")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", type=int, nargs="*", help="render only these clip indices")
    ap.add_argument("--check", action="store_true", help="run the convention self-check")
    a = ap.parse_args()
    if a.check:
        self_check()
        if not a.out:
            return
    cv2.setNumThreads(1)
    kinds = plan(a.clips, a.seed)
    idx = a.only if a.only else list(range(a.clips))
    jobs = [(a.seed, i, a.profile, *kinds[i], a.out) for i in idx]
    t0 = time.time()
    with mp.Pool(a.workers) as pool:
        for k, name in enumerate(pool.imap_unordered(make_clip, jobs), 1):
            el = time.time() - t0
            print(
                f"\r[{k}/{len(jobs)}] {name}  {el:.0f}s  {el / k:.1f}s/clip",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
