// Device-motion recording in the units and axes of CONTRACT.md.
//
// Every sample is [t_ms, ax, ay, az, gx, gy, gz]:
//   t_ms          performance.now() clock (the frames' clock), see sampleTime() below;
//   ax, ay, az    accelerationIncludingGravity, m/s², device axes (x right, y top, z out of screen);
//   gx, gy, gz    angular velocity about device x, y, z, rad/s (right-hand rule).

const DEG = Math.PI / 180;

// THE one place where the browser's rotationRate is mapped to the contract's gyro axes.
//
// rotationRate is in deg/s. Chromium (desktop and Android) delivers the gyroscope's x, y, z as
// alpha, beta, gamma (checked with CDP virtual sensors: gyroscope x = 0.5 rad/s arrives as
// alpha = 28.6), and the current W3C/MDN text agrees: alpha is about x, beta about y, gamma
// about z. Older documents (and possibly older WebKit/Gecko builds) give alpha about z: check
// each browser family on a real device before trusting its IMU, and change only this function.
export function rotationRateToGyro(rr) {
  if (!rr) return null;
  return [rr.alpha * DEG, rr.beta * DEG, rr.gamma * DEG]; // [gx, gy, gz] rad/s
}

// accelerationIncludingGravity is already in m/s² and device axes (a phone lying face-up at
// rest reads (0, 0, +9.81) in Chromium, as the contract says).
export function accelerationToContract(a) {
  if (!a) return null;
  return [a.x, a.y, a.z];
}

// Timestamp of a devicemotion event on the performance.now() clock.
//
// We use event.timeStamp: in current browsers it is a DOMHighResTimeStamp on the same clock as
// performance.now() and the camera frames' capture times, and it is taken when the event is
// created, so it does not drift later when the main thread is busy drawing and encoding frames
// (the handler can run tens of ms after the reading). Old WebKit reported epoch milliseconds
// there; anything not within a few seconds of performance.now() falls back to the handler time.
function sampleTime(event) {
  const now = performance.now();
  const t = event.timeStamp;
  if (Number.isFinite(t) && t > 0 && t <= now + 1 && now - t < 5000) return t;
  return now;
}

function finite(values) {
  return values.every((v) => typeof v === "number" && Number.isFinite(v));
}

// iOS 13+ asks the user before delivering motion events; the request must come from a click.
// Call this synchronously at the start of the click handler. Resolves to "granted",
// "denied" or "not-needed".
export function requestMotionPermission() {
  const DME = globalThis.DeviceMotionEvent;
  if (!DME || typeof DME.requestPermission !== "function") {
    return Promise.resolve("not-needed");
  }
  return DME.requestPermission().then(
    (state) => (state === "granted" ? "granted" : "denied"),
    () => "denied",
  );
}

export function motionSupported() {
  return typeof globalThis.DeviceMotionEvent !== "undefined";
}

// Records devicemotion samples while started; drops events with any null / NaN value (desktop
// browsers fire one all-null event, or none, when there is no sensor).
export class MotionRecorder {
  constructor(maxSamples = 4000) {
    this.maxSamples = maxSamples;
    this.samples = [];
    this.events = 0; // all events seen, usable or not
    this._onMotion = (e) => this._record(e);
    this._listening = false;
  }

  start() {
    this.samples = [];
    this.events = 0;
    if (!this._listening && motionSupported()) {
      window.addEventListener("devicemotion", this._onMotion);
      this._listening = true;
    }
  }

  stop() {
    if (this._listening) {
      window.removeEventListener("devicemotion", this._onMotion);
      this._listening = false;
    }
  }

  _record(e) {
    this.events += 1;
    const acc = accelerationToContract(e.accelerationIncludingGravity);
    const gyro = rotationRateToGyro(e.rotationRate);
    if (!acc || !gyro) return;
    const row = [sampleTime(e), ...acc, ...gyro];
    if (!finite(row)) return;
    const last = this.samples[this.samples.length - 1];
    if (last && row[0] <= last[0]) return; // strictly increasing times
    if (this.samples.length >= this.maxSamples) this.samples.shift();
    this.samples.push(row);
  }

  // Samples from `t0 - margin` to `t1 + margin` ms (the capture window plus a little so the
  // server can resample at the first and last frame), at most `limit` of them.
  window(t0, t1, margin = 100, limit = Infinity) {
    const rows = this.samples.filter((r) => r[0] >= t0 - margin && r[0] <= t1 + margin);
    return rows.length > limit ? rows.slice(rows.length - limit) : rows;
  }
}

// Compact JSON rows: 3 decimals for time (µs), 5 for values (well below sensor resolution).
export function roundRow(row) {
  return row.map((v, i) => Math.round(v * (i === 0 ? 1e3 : 1e5)) / (i === 0 ? 1e3 : 1e5));
}
