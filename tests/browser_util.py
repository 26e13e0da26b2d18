"""Helpers of the browser tests: fake-camera .y4m files, frame markers, CDP sensor playback."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# A frame's index in the fake camera's file is written into its top-left corner as MARK_BITS
# blocks of MARK_PX pixels, in rows the model never sees (it looks at the central square of a
# portrait frame), so a test can tell which file frame the page sent and whether it was
# mirrored. The blocks change only the chroma (Cb high = bit set, bit 0 leftmost) and keep each
# pixel's luma, so image motion as the server's video challenge judge measures it (optical
# flow on luma) is untouched.
MARK_BITS = 8
MARK_PX = 8

# Runs in the page (added by the test, not part of the product): watches the preview video
# and records, for every camera frame, [capture time (requestVideoFrameCallback metadata, else
# the callback time), the index drawn by mark_frames, the callback's `now`, performance.now()
# in the callback]. The test uses it to learn when the fake camera showed file frame 0, so it
# can play the clip's IMU in step with the video.
OBSERVER_JS = """
(() => {
  const BITS = MARK_BITS, PX = MARK_PX;
  window.__camFrames = [];
  const canvas = document.createElement("canvas");
  canvas.__observer = true; // not the page's: STAMPS_JS does not count its draws
  let ctx = null;
  const watch = (video) => {
    const cb = (now, meta) => {
      const w = video.videoWidth, h = video.videoHeight;
      if (w && h) {
        if (canvas.width !== w || canvas.height !== h) {
          canvas.width = w; canvas.height = h;
          ctx = canvas.getContext("2d", { willReadFrequently: true });
        }
        ctx.drawImage(video, 0, 0);
        const data = ctx.getImageData(0, 0, BITS * PX, PX).data;
        let code = 0;
        for (let b = 0; b < BITS; b++) {
          const i = 4 * ((PX >> 1) * BITS * PX + b * PX + (PX >> 1));
          const cb = -0.168736 * data[i] - 0.331264 * data[i + 1] + 0.5 * data[i + 2];
          if (cb > 0) code |= 1 << b;
        }
        const t = Number.isFinite(meta && meta.captureTime) ? meta.captureTime : now;
        window.__camFrames.push([t, code, now, performance.now()]);
      }
      video.requestVideoFrameCallback(cb);
    };
    video.requestVideoFrameCallback(cb);
  };
  const poll = setInterval(() => {
    const v = document.getElementById("preview");
    if (v && v.srcObject) { clearInterval(poll); watch(v); }
  }, 10);
})();
""".replace("MARK_BITS", str(MARK_BITS)).replace("MARK_PX", str(MARK_PX))


# Also test code only, for the clock-offset measurement (docs/CLOCK_OFFSET.md): every
# devicemotion event as [event.timeStamp, performance.now() when handled, rotationRate.alpha],
# and performance.now() whenever the page draws a video frame onto its canvas (the moment it
# grabs a frame).
STAMPS_JS = """
(() => {
  window.__motion = [];
  window.addEventListener("devicemotion", (e) => {
    const r = e.rotationRate;
    window.__motion.push([e.timeStamp, performance.now(), r && r.alpha !== null ? r.alpha : NaN]);
  });
  window.__draws = [];
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (src, ...rest) {
    if (src instanceof HTMLVideoElement && !this.canvas.__observer) {
      window.__draws.push(performance.now());
    }
    return draw.call(this, src, ...rest);
  };
})();
"""


MARK_CB = 40.0  # Cb offset of a block, either way from neutral


def _cb(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., k].astype(np.float32) for k in range(3))
    return -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0


def mark_frames(frames: np.ndarray, first_index: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8 -> a copy with each frame's index (first_index + i) drawn in."""
    t, h, w = frames.shape[:3]
    if w < MARK_BITS * MARK_PX or (h - w) // 2 < MARK_PX:
        raise ValueError(f"{w}x{h}: no room for markers outside the central square")
    out = frames.copy()
    for i in range(t):
        code = (first_index + i) % (1 << MARK_BITS)
        for b in range(MARK_BITS):
            block = out[i, :MARK_PX, b * MARK_PX : (b + 1) * MARK_PX].astype(np.float32)
            r, g, bl = block[..., 0], block[..., 1], block[..., 2]
            y = 0.299 * r + 0.587 * g + 0.114 * bl
            cr = 0.5 * r - 0.418688 * g - 0.081312 * bl + 128.0
            cb = 128.0 + (MARK_CB if (code >> b) & 1 else -MARK_CB)
            rgb = np.stack(
                [
                    y + 1.402 * (cr - 128.0),
                    y - 0.344136 * (cb - 128.0) - 0.714136 * (cr - 128.0),
                    y + 1.772 * (cb - 128.0),
                ],
                axis=-1,
            )
            out[i, :MARK_PX, b * MARK_PX : (b + 1) * MARK_PX] = np.clip(np.round(rgb), 0, 255)
    return out


def read_mark(frame: np.ndarray) -> int:
    """The index drawn by mark_frames, read at block centres (JPEG-safe)."""
    code = 0
    for b in range(MARK_BITS):
        if _cb(frame[MARK_PX // 2, b * MARK_PX + MARK_PX // 2]) > 128.0:
            code |= 1 << b
    return code


def rgb_to_yuv420(frame: np.ndarray) -> bytes:
    """One RGB frame -> planar Y, U, V (4:2:0, chroma sited as JPEG: the y4m tag C420jpeg), in
    limited range (Y 16–235, Cb/Cr 16–240): Chromium's fake camera reads a .y4m as BT.601
    limited range whatever it holds, so full-range levels came out stretched (contrast × 1.16,
    shadows and highlights clipped) and the page sent other pixels than the clip's."""
    ycc = np.asarray(Image.fromarray(frame).convert("YCbCr"), dtype=np.float32)  # full range
    h, w = ycc.shape[:2]
    y = 16.0 + ycc[..., 0] * (219.0 / 255.0)
    # Chroma: mean of each 2x2 block ("jpeg" siting: centred between the four pixels).
    cb = ycc[..., 1].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cr = ycc[..., 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cb, cr = (128.0 + (c - 128.0) * (224.0 / 255.0) for c in (cb, cr))
    planes = [np.clip(np.round(p), 0, 255).astype(np.uint8) for p in (y, cb, cr)]
    return b"".join(p.tobytes() for p in planes)


def write_y4m(path: Path, frames: np.ndarray, fps: int) -> None:
    """Frames (T, H, W, 3) uint8 RGB, even H and W -> a .y4m that Chromium's fake camera plays
    at `fps` (looping; it reports the file's size and rate to getUserMedia)."""
    t, h, w = frames.shape[:3]
    if h % 2 or w % 2:
        raise ValueError(f"{w}x{h}: 4:2:0 needs even dimensions")
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(t):
            f.write(b"FRAME\n")
            f.write(rgb_to_yuv420(frames[i]))
    tmp.replace(path)


def imu_at(imu: np.ndarray, t_ms: float) -> np.ndarray:
    """Linear interpolation of imu rows (N, 7) at one time, clamped at the ends -> (6,)."""
    return np.array([np.interp(t_ms, imu[:, 0], imu[:, k]) for k in range(1, 7)])


@dataclass
class Timeline:
    """What the fake camera plays: `lead` copies of the clip's first frame, the clip, `tail`
    copies of its last frame, then it loops. File frame j is shown from t0 + j * period."""

    frames: np.ndarray  # (L, H, W, 3) marked
    lead: int
    fps: int
    clip_t_ms: np.ndarray  # the clip's frame times

    @property
    def period_ms(self) -> float:
        return 1000.0 / self.fps

    def clip_time(self, t_page: float, t0: float) -> float:
        """The clip time (its own clock) shown by the camera at page time t_page. The camera
        plays the clip's frames one per period, while the clip's own frame times need not be
        evenly spaced (a generated clip can drop a frame: a 133 ms step at 15 fps); the
        sensors must follow the frames as played, so the clip's time is interpolated between
        its frames' times (beyond the clip: one period per frame)."""
        j = (t_page - t0) / self.period_ms - self.lead  # clip frame index shown, fractional
        t, last = self.clip_t_ms, len(self.clip_t_ms) - 1
        if j <= 0:
            return float(t[0] + j * self.period_ms)
        if j >= last:
            return float(t[last] + (j - last) * self.period_ms)
        return float(np.interp(j, np.arange(last + 1), t))

    def source_frame(self, index: int) -> np.ndarray:
        return self.frames[index]


def clock_offset_ms(page: Any, tries: int = 5) -> float:
    """page performance.now() minus 1000 * time.perf_counter(), from the fastest of a few
    round trips (the midpoint of the best one)."""
    best = (float("inf"), 0.0)
    for _ in range(tries):
        a = time.perf_counter()
        now = float(page.evaluate("performance.now()"))
        b = time.perf_counter()
        best = min(best, (b - a, now - 500.0 * (a + b)))
    return best[1]


SENSORS = ("accelerometer", "linear-acceleration", "gyroscope", "gravity")


def enable_sensors(cdp: Any, acc: np.ndarray, gyro: np.ndarray) -> None:
    """Turn on CDP virtual motion sensors (before the page loads) with a first reading."""
    for t in SENSORS:
        cdp.send("Emulation.setSensorOverrideEnabled", {"enabled": True, "type": t})
    xyz = {"x": 0.0, "y": 0.0, "z": 0.0}
    cdp.send(
        "Emulation.setSensorOverrideReadings",
        {"type": "linear-acceleration", "reading": {"xyz": xyz}},
    )
    set_motion(cdp, acc, gyro)
    g = {"x": float(acc[0]), "y": float(acc[1]), "z": float(acc[2])}
    cdp.send("Emulation.setSensorOverrideReadings", {"type": "gravity", "reading": {"xyz": g}})


def set_motion(cdp: Any, acc: np.ndarray, gyro: np.ndarray) -> None:
    """One reading: accelerometer incl. gravity (m/s²) and gyroscope (rad/s), device axes."""
    for kind, v in (("gyroscope", gyro), ("accelerometer", acc)):
        xyz = {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}
        cdp.send("Emulation.setSensorOverrideReadings", {"type": kind, "reading": {"xyz": xyz}})


@dataclass
class Playback:
    """Readings sent while the page recorded: page time just before each send, the reading."""

    t_page: list[float] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)  # (6,): ax, ay, az, gx, gy, gz
    t0: float | None = None  # page time at which the camera showed file frame 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.t_page), np.array(self.values)
