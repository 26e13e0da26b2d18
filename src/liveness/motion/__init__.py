"""Motion agreement (numpy + OpenCV): does the video turn the way the phone's gyro says?

video: the device rotation the video shows per frame interval; agreement: its comparison with
the gyro over the same intervals, the clock offset searched, and the findings (offsets: the
score at every searched offset, coarse to fine; series: the weighted statistics it takes over
intervals; inertial: the gyro's turn and the accelerometer's displacement; parallax: that
displacement seen at a fitted depth); plot: a picture of one capture for debugging a refused
one; relief: whether the face moves like a plane (a print or a screen) or like a 3-D face,
which needs no sensors; rigid: whether the scene holds still under the phone's own motion (a
screen replaying a recording does not). docs/MOTION.md has the physics and the numbers.
"""

from liveness.motion.agreement import (
    FINDINGS,
    Agreement,
    agreement,
    compare,
)
from liveness.motion.inertial import device_displacement, gyro_angle, gyro_over
from liveness.motion.plot import plot_agreement, plot_relief
from liveness.motion.relief import Relief, ReliefTracks, motion_relief, relief, relief_tracks
from liveness.motion.rigid import scene_misfit
from liveness.motion.video import (
    VideoMotion,
    focal_px,
    gray_frames,
    guide_oval,
    rotation_jacobian,
    video_motion,
)

__all__ = [
    "FINDINGS",
    "Agreement",
    "Relief",
    "ReliefTracks",
    "VideoMotion",
    "agreement",
    "compare",
    "device_displacement",
    "focal_px",
    "gray_frames",
    "guide_oval",
    "gyro_angle",
    "gyro_over",
    "motion_relief",
    "plot_agreement",
    "plot_relief",
    "relief",
    "relief_tracks",
    "rotation_jacobian",
    "scene_misfit",
    "video_motion",
]
