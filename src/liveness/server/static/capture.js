// Front camera and frame capture: frames are grabbed UNmirrored (as the sensor sees them; the
// preview is mirrored by CSS only), downscaled so the longer side is <= max_side, encoded as JPEG,
// each with its capture time on the performance.now() clock.

export class CameraError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function openCamera(video) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw new CameraError(
      "The camera is only available on a secure page: open this page over HTTPS " +
        "(or on http://localhost).",
      "insecure",
    );
  }
  let stream;
  try {
    // No width/height: the camera's own resolution is used and downscaled here (asking for a
    // size can make the browser rescale or crop the stream). The oval guide assumes no crop.
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", frameRate: { ideal: 30 } },
      audio: false,
    });
  } catch (e) {
    const name = e?.name || "";
    if (name === "NotAllowedError" || name === "SecurityError") {
      throw new CameraError(
        "Camera access was refused. Allow the camera for this site in the browser's " +
          "settings, then press “Try again”.",
        "denied",
      );
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      throw new CameraError("No front camera was found on this device.", "no_camera");
    }
    if (name === "NotReadableError" || name === "AbortError") {
      throw new CameraError(
        "The camera is busy or could not be started (is another app using it?).",
        "camera_busy",
      );
    }
    throw new CameraError(`The camera could not be started (${name || e}).`, "camera_error");
  }
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play();
  if (!video.videoWidth) {
    await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
  }
  return stream;
}

export function stopCamera(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

function frameSize(video, maxSide) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  const s = Math.min(1, maxSide / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

function toJpeg(canvas, quality) {
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error("JPEG encoding failed"))),
      "image/jpeg",
      quality,
    ),
  );
}

// Calls `onFrame(now, captureTimeOrNull)` once per new video frame until the returned stop()
// is called. Prefers requestVideoFrameCallback (one call per frame actually delivered, with the
// camera's capture time in its metadata where the browser gives one); otherwise polls with
// requestAnimationFrame and dedupes on the video's currentTime.
function eachVideoFrame(video, onFrame) {
  let active = true;
  if (typeof video.requestVideoFrameCallback === "function") {
    const cb = (now, meta) => {
      if (!active) return;
      onFrame(now, Number.isFinite(meta?.captureTime) ? meta.captureTime : null);
      video.requestVideoFrameCallback(cb);
    };
    video.requestVideoFrameCallback(cb);
  } else {
    let lastTime = -1;
    const tick = (now) => {
      if (!active) return;
      if (video.currentTime !== lastTime) {
        lastTime = video.currentTime;
        onFrame(now, null);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
  return () => {
    active = false;
  };
}

// Records about `duration_ms` of frames at about `fps`. Resolves to
// { blobs: [Blob], times: [ms], width, height, bytes }.
// `onProgress(fraction)` is called as frames come in.
export function captureFrames(video, capture, onProgress = () => {}) {
  const { duration_ms: durationMs, fps, max_side: maxSide } = capture;
  const maxFrames = capture.max_frames ?? Infinity;
  const maxBytes = capture.max_upload_bytes ?? Infinity;
  const [width, height] = frameSize(video, maxSide);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { alpha: false });
  const period = 1000 / fps;

  return new Promise((resolve, reject) => {
    const encodes = [];
    const times = [];
    let start = null;
    let quality = 0.9;
    let bytes = 0;
    let done = false;

    const finish = () => {
      if (done) return;
      done = true;
      stop();
      clearTimeout(guard);
      Promise.all(encodes).then(
        (blobs) => resolve({ blobs, times, width, height, bytes }),
        reject,
      );
    };

    const stop = eachVideoFrame(video, (now, captureTime) => {
      if (done) return;
      // The camera's capture time when known, else the time we grab the frame: both are on the
      // performance.now() clock, like the motion samples.
      const t = captureTime ?? performance.now();
      if (start === null) start = t;
      const elapsed = t - start;
      if (elapsed >= durationMs || times.length >= maxFrames) {
        finish();
        return;
      }
      // Keep frames on a grid of 1/fps (a 30 fps camera gives every other frame); a quarter
      // period of slack so a jittery camera at exactly `fps` loses none.
      if (times.length > 0 && elapsed < times.length * period - period / 4) return;
      if (times.length > 0 && t <= times[times.length - 1]) return;
      ctx.drawImage(video, 0, 0, width, height); // unmirrored: no transform on this canvas
      times.push(t);
      // toBlob copies the canvas now, so the canvas can be reused for the next frame.
      const p = toJpeg(canvas, quality).then((b) => {
        bytes += b.size;
        // Keep the upload under the server's limit: lower the quality if frames are large.
        const budget = (0.85 * maxBytes) / Math.max(1, Math.ceil(durationMs / period));
        if (b.size > budget && quality > 0.5) quality = Math.max(0.5, quality - 0.1);
        return b;
      });
      encodes.push(p);
      onProgress(Math.min(1, elapsed / durationMs));
    });
    // A camera that stalls must not leave the page waiting forever.
    const guard = setTimeout(finish, durationMs + 3000);
  });
}
