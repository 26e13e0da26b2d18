"""A plot of one capture's motion agreement: video against gyro per device axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liveness.motion.agreement import Agreement
from liveness.motion.inertial import device_displacement, gyro_angle, gyro_over
from liveness.motion.parallax import translation_as_turn
from liveness.motion.video import VideoMotion


def plot_agreement(
    vm: VideoMotion, imu: np.ndarray | None, a: Agreement, out: str | Path, title: str = ""
) -> Path:
    """A PNG per device axis: the video's rotation rate against the gyro's (at the best offset)
    and, where a depth was fitted, the phone's prediction with its translation; for debugging
    a refused capture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dt = (vm.t1_ms - vm.t0_ms) / 1000.0
    tm = 0.5 * (vm.t0_ms + vm.t1_ms) - vm.t0_ms[0]
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
    for j, ax in enumerate(axes):
        ax.plot(tm, np.degrees(vm.rot[:, j] / dt), "o-", ms=3, label="video (background)")
        ax.plot(tm, np.degrees(vm.rot_face[:, j] / dt), ".:", alpha=0.5, label="video (face)")
        if g is not None:
            ax.plot(tm, np.degrees(g[:, j] / dt), "s-", ms=3, label="gyro")
        if pred is not None:
            lab = f"gyro + translation at {1 / k_room:.2f} m"
            ax.plot(tm, np.degrees(pred[:, j] / dt), "^--", ms=3, label=lab)
        ax.set_ylabel(f"about {'xyz'[j]}, °/s")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("ms from the first frame")
    fig.suptitle(f"{title}\n{a.words()}", fontsize=9)
    fig.tight_layout()
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=90)
    plt.close(fig)
    return p
