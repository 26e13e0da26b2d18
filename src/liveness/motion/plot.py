"""Plots of one capture for debugging a refused one: the motion agreement (video against gyro
per device axis) and the face-flatness cue (the face's tracks and what one plane leaves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from liveness.config import MotionConfig
from liveness.motion.agreement import Agreement, compared_fits
from liveness.motion.inertial import device_displacement, gyro_angle, gyro_over
from liveness.motion.parallax import translation_as_turn
from liveness.motion.relief import ReliefTracks, homography_residuals
from liveness.motion.video import VideoMotion


def plot_agreement(
    vm: VideoMotion,
    imu: np.ndarray | None,
    a: Agreement,
    out: str | Path,
    title: str = "",
    cfg: MotionConfig | None = None,
) -> Path:
    """A PNG per device axis: the video's rotation rate against the gyro's (at the best offset)
    and, where a depth was fitted, the phone's prediction with its translation; for debugging
    a refused capture. Filled markers are the fits the comparison read in each interval (the
    background's where confident, else the face region's: agreement.compared_fits, with cfg,
    the check's settings); hollow ones were measured but not read; an interval with no fit is
    a gap, not 0 °/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dt = (vm.t1_ms - vm.t0_ms) / 1000.0
    tm = 0.5 * (vm.t0_ms + vm.t1_ms) - vm.t0_ms[0]
    use_bg, _, _, ok = compared_fits(vm, cfg or MotionConfig())
    read = {"background": ok & use_bg, "face": ok & ~use_bg}
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    g = pred = None
    if imu is not None:
        t_imu, angle = gyro_angle(imu)
        off = a.offset_ms if np.isfinite(a.offset_ms) else 0.0
        g = gyro_over(t_imu, angle, vm.t0_ms + off, vm.t1_ms + off)
        k_room = a.parallax_per_m[0] if np.isfinite(a.parallax_per_m[0]) else 0.0
        if k_room > 0:  # what the phone predicts the room shows: its turn and its translation
            t_acc, disp = device_displacement(imu)
            d = gyro_over(t_acc, disp, vm.t0_ms + off, vm.t1_ms + off)
            pred = g + k_room * translation_as_turn(d)
    regions = (("background", vm.rot, vm.conf, "o", "tab:blue"),
               ("face", vm.rot_face, vm.conf_face, "D", "tab:orange"))  # fmt: skip
    for j, ax in enumerate(axes):
        for region, rot, conf, mark, colour in regions:
            rate = np.where(conf > 0, np.degrees(rot[:, j] / dt), np.nan)  # no fit: a gap
            used = read[region]
            ax.plot(tm, rate, "-" if region == "background" else ":", color=colour, alpha=0.5)
            ax.plot(tm[used], rate[used], mark, ms=3.5, color=colour,
                    label=f"video ({region}): read, {used.sum()} intervals")  # fmt: skip
            ax.plot(tm[~used], rate[~used], mark, ms=3.5, mfc="none", color=colour, alpha=0.6,
                    label=f"video ({region}): not read")  # fmt: skip
        if g is not None:
            ax.plot(tm, np.degrees(g[:, j] / dt), "s-", ms=3, color="tab:green", label="gyro")
        if pred is not None:
            lab = f"gyro + translation at {1 / k_room:.2f} m"
            ax.plot(tm, np.degrees(pred[:, j] / dt), "^--", ms=3, color="tab:red", label=lab)
        ax.set_ylabel(f"about {'xyz'[j]}, °/s")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=7, ncol=2)
    axes[-1].set_xlabel("ms from the first frame")
    fig.suptitle(f"{title}\n{a.words()}", fontsize=9)
    return _save(fig, out, dpi=90)


def plot_relief(tr: ReliefTracks, out: str | Path, title: str = "") -> Path:
    """A PNG of the face-flatness cue: the first tracked frame, each face point's track to the
    frame where the misfit was largest, and what one homography leaves of it (red, ×5); for
    debugging a capture refused as a flat face."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 5.5))
    if tr.first.size:
        ax.imshow(tr.first, cmap="gray", vmin=0, vmax=255)
    if tr.best > 0:
        a, b = tr.pos[0], tr.pos[tr.best]
        ok = np.isfinite(a[:, 0]) & np.isfinite(b[:, 0])
        res = homography_residuals(np.nan_to_num(a), np.nan_to_num(b)[None], ok[None])[0]
        for i in np.flatnonzero(ok):
            track = tr.pos[: tr.best + 1, i]
            ax.plot(track[:, 0], track[:, 1], "-", color="tab:cyan", lw=0.8)
            ax.arrow(b[i, 0], b[i, 1], 5 * res[i, 0], 5 * res[i, 1], color="tab:red",
                     width=0.3, head_width=1.5, length_includes_head=True)  # fmt: skip
        ax.plot(a[ok, 0], a[ok, 1], ".", color="tab:cyan", ms=3)
    ax.set_axis_off()
    fig.suptitle(f"{title}\n{tr.relief.words()}", fontsize=7, wrap=True)
    return _save(fig, out, dpi=110)


def _save(fig: Any, out: str | Path, dpi: int) -> Path:
    """Lay out, write the PNG (its folder made if needed), free the figure; the path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=dpi)
    plt.close(fig)
    return p
