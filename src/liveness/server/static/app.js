// The capture page: camera preview with a face guide, a motion challenge, ~2 s of frames and
// device-motion samples, upload, verdict. Plain ES modules, no build step, nothing from a CDN.

import { ApiError, createSession, submitCheck } from "./api.js";
import { CameraError, captureFrames, openCamera, stopCamera } from "./capture.js";
import { MotionRecorder, motionSupported, requestMotionPermission, roundRow } from "./motion.js";

const COUNTDOWN_STEPS = 3; // "3, 2, 1" before recording: time to read the challenge
const COUNTDOWN_STEP_MS = 600;
// Oval guide, as fractions of the central square's side (the square the model looks at).
const OVAL_RX = 0.36;
const OVAL_RY = 0.46;

const $ = (id) => document.getElementById(id);
const el = {
  app: $("app"),
  video: $("preview"),
  still: $("still"),
  guide: $("guide"),
  hole: $("guide-hole"),
  oval: $("guide-oval"),
  cameraOff: $("camera-off"),
  challenge: $("challenge"),
  arrow: $("arrow"),
  challengeText: $("challenge-text"),
  countdown: $("countdown"),
  progressWrap: $("progress-wrap"),
  progress: $("progress"),
  status: $("status"),
  sensors: $("sensors"),
  start: $("start"),
  retry: $("retry"),
  error: $("error"),
  errorMessage: $("error-message"),
  errorCode: $("error-code"),
  result: $("result"),
  verdict: $("verdict"),
  score: $("score"),
  threshold: $("threshold"),
  scoreBar: $("score-bar"),
  thresholdMark: $("threshold-mark"),
  modalities: $("modalities"),
  challengeResult: $("challenge-result"),
  motionLabel: $("motion-label"),
  motion: $("motion"),
  motionWords: $("motion-words"),
  motionNumbers: $("motion-numbers"),
  reasons: $("reasons"),
  details: $("details"),
};

const ARROW_ROTATION = { left: 0, up: 90, right: 180, down: 270 };

let stream = null;
let busy = false;
const motion = new MotionRecorder();
let motionPermission = "not-needed";

function setState(state) {
  el.app.dataset.state = state;
}

function say(text) {
  el.status.textContent = text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fitGuide() {
  const w = el.video.videoWidth;
  const h = el.video.videoHeight;
  if (!w || !h) return;
  el.guide.setAttribute("viewBox", `0 0 ${w} ${h}`);
  el.guide.closest(".stage").style.aspectRatio = `${w} / ${h}`;
  for (const id of ["guide-mask", "guide-mask-rect", "guide-shade"]) {
    $(id).setAttribute("width", String(w));
    $(id).setAttribute("height", String(h));
  }
  const side = Math.min(w, h);
  for (const e of [el.hole, el.oval]) {
    e.setAttribute("cx", String(w / 2));
    e.setAttribute("cy", String(h / 2));
    e.setAttribute("rx", String(OVAL_RX * side));
    e.setAttribute("ry", String(OVAL_RY * side));
  }
}

// Without motion data (a desktop webcam, sensors refused) the server judges the face's pose,
// so the words say how to turn the head (phone left = head right); the session has both.
function noMotion() {
  return motionPermission === "denied" || motion.samples.length === 0;
}

function wording(item) {
  return (noMotion() && item.text_head) || item.text || "";
}

function showChallenge(challenge) {
  const steps = Array.isArray(challenge.steps) && challenge.steps.length ? challenge.steps : null;
  const arrow = steps ? (steps[0].arrow ?? challenge.arrow) : challenge.arrow;
  setArrow(arrow);
  el.challengeText.textContent = wording(challenge);
  el.challenge.hidden = false;
}

function setArrow(direction) {
  const rot = ARROW_ROTATION[direction];
  el.arrow.style.display = rot === undefined ? "none" : "";
  if (rot !== undefined) el.arrow.style.transform = `rotate(${rot}deg)`;
  el.arrow.dataset.direction = direction ?? "";
}

// Multi-step challenges come with time slots (start_ms/end_ms): move the arrow along.
function stepAt(challenge, elapsedMs) {
  const steps = challenge.steps;
  if (!Array.isArray(steps) || steps.length < 2) return;
  const step = steps.find((s) => elapsedMs >= (s.start_ms ?? 0) && elapsedMs < (s.end_ms ?? Infinity));
  if (step && el.arrow.dataset.direction !== step.arrow) {
    setArrow(step.arrow);
    if (step.text) el.challengeText.textContent = wording(step);
    headHint();
  }
}

function headHint() {
  const show = noMotion();
  el.sensors.textContent = show ? "No motion sensors: keep the camera still and turn your head." : "";
  el.sensors.hidden = !show;
}

function setProgress(fraction) {
  const pct = Math.round(100 * fraction);
  el.progress.setAttribute("aria-valuenow", String(pct));
  el.progress.style.setProperty("--p", `${pct}%`);
}

function hidePanels() {
  el.error.hidden = true;
  el.result.hidden = true;
}

function showError(err) {
  const message = err?.message || String(err);
  el.errorMessage.textContent = message;
  el.errorCode.textContent = err?.code ? `code: ${err.code}` : "";
  el.error.dataset.code = err?.code ?? "";
  el.error.hidden = false;
  el.challenge.hidden = true;
  el.progressWrap.hidden = true;
  setState("error");
  say("The check did not complete.");
  el.error.focus();
}

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const signed = (x) => `${x >= 0 ? "+" : "-"}${Math.abs(x).toFixed(0)}`; // as in `words`
const capital = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");

// The motion agreement (the check response's `motion`, null without sensors) in words and in
// one compact line of numbers; the rest of its numbers go to the details.
function showMotion(m) {
  el.motionLabel.hidden = el.motion.hidden = !m;
  el.motion.dataset.status = m?.status ?? "";
  el.motionWords.textContent = m ? capital(m.words || m.status || "") : "";
  const nums = [];
  if (m && isNum(m.r)) nums.push(`r = ${m.r.toFixed(2)}`);
  if (m && isNum(m.offset_ms)) nums.push(`offset ${signed(m.offset_ms)} ms`);
  if (m && isNum(m.gain)) nums.push(`gain ${m.gain.toFixed(2)}`);
  el.motionNumbers.textContent = nums.join(" · ");
}

function motionDetails(m) {
  if (!m) return [];
  const axes = Array.isArray(m.r_axes) ? m.r_axes : [];
  const perAxis = ["x", "y", "z"].map((a, i) => `${a} ${fmt(axes[i], 2)}`).join(", ");
  return [
    ["Motion r", `per axis ${perAxis}; fast part ${fmt(m.r_detail, 2)}; agreement ${fmt(m.score, 2)}`],
    ["Turn rate", `video ${fmt(m.video_deg_s, 1)} °/s, phone ${fmt(m.gyro_deg_s, 1)} °/s; ` +
      `residual ${fmt(m.residual, 2)}; coverage ${fmt(m.coverage, 2)}` +
      (m.intervals_dropped > 0 ? `; ${m.intervals_dropped} lost interval(s) set aside` : "")],
    ["Parallax", Array.isArray(m.parallax_per_m)
      ? `room ${fmt(m.parallax_per_m[0], 1)} /m, face ${fmt(m.parallax_per_m[1], 1)} /m ` +
        "(the phone's translation seen at depth)" +
        (isNum(m.room_per_m) && m.room_per_m > 0
          ? `; the room reads ${fmt(1 / m.room_per_m, 2)} m away` : "") : ""],
    ["Scene", isNum(m.scene_misfit)
      ? `moves ${fmt(m.scene_misfit, 2)} of the turn's motion beyond what the phone's own ` +
        "motion explains (a room holds still; a replayed recording does not)" : ""],
    ["Wide search", isNum(m.wide_offset_ms)
      ? `best at ${signed(m.wide_offset_ms)} ms (agreement ${fmt(m.wide_r, 2)} there)` : ""],
    ["Findings", Array.isArray(m.findings) ? m.findings.join(", ") : ""],
  ];
}

function showResult(r) {
  const live = r.live === true;
  el.result.dataset.live = String(live);
  el.verdict.textContent = live ? "✓ Live: check passed" : "✗ Not live: check failed";
  el.score.textContent = fmt(r.score);
  el.threshold.textContent = fmt(r.threshold);
  el.scoreBar.style.width = `${Math.max(0, Math.min(100, 100 * (r.score ?? 0)))}%`;
  el.thresholdMark.style.left = `${Math.max(0, Math.min(100, 100 * (r.threshold ?? 0)))}%`;

  const mods = Array.isArray(r.modalities) ? r.modalities : [];
  el.result.dataset.modalities = mods.join(",");
  if (mods.includes("imu")) {
    el.modalities.textContent = "Video and motion sensors";
  } else {
    el.modalities.textContent =
      "Video only: no motion-sensor data was available, so the check ran on video only.";
  }

  const ch = r.challenge || {};
  const followed = ch.followed === true;
  const from = ch.judged_from === "imu+video" ? "motion sensors and video" : ch.judged_from === "imu" ? "motion sensors" : ch.judged_from === "video" ? "video" : "";
  el.challengeResult.textContent =
    `${followed ? "Followed" : "Not followed"}${from ? ` (judged from ${from})` : ""}`;
  el.result.dataset.followed = String(followed);
  showMotion(r.motion ?? null);

  el.reasons.replaceChildren();
  for (const reason of r.reasons ?? []) {
    const li = document.createElement("li");
    li.textContent = reason.message || reason.code;
    li.dataset.code = reason.code ?? "";
    el.reasons.append(li);
  }
  el.reasons.hidden = el.reasons.children.length === 0;

  el.details.replaceChildren();
  const rows = [
    ["Challenge", ch.detail],
    ["Model score", isNum(r.model_score) ? fmt(r.model_score) : ""],
    ...motionDetails(r.motion ?? null),
    // The flatness cue, when the model uses it: on the face's own tracks or the whole frame's.
    [r.relief?.region === "frame" ? "Scene depth" : "Face depth", r.relief?.summary ?? ""],
    ["Session", r.session_id],
    ["Model", r.model ? `${r.model.version} (${r.model.backend}, ${String(r.model.sha256).slice(0, 12)}…)` : ""],
    ["Server time", r.server_time],
    ["Timing", r.timing_ms ? Object.entries(r.timing_ms).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(", ") : ""],
  ];
  for (const [k, v] of rows) {
    if (!v) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    el.details.append(dt, dd);
  }

  el.result.hidden = false;
  setState("result");
  say(live ? "Check passed: live." : "Check failed: not live.");
  el.result.focus();
}

async function ensureCamera() {
  if (stream && stream.getVideoTracks().some((t) => t.readyState === "live")) return;
  say("Starting the camera…");
  stream = await openCamera(el.video);
  fitGuide();
  el.still.hidden = true;
  el.cameraOff.hidden = true;
  el.app.classList.add("camera-on");
}

// The camera is on only while a check needs it. `still`: a captured frame to leave on screen.
function releaseCamera(still = null) {
  stopCamera(stream);
  stream = null;
  el.video.srcObject = null;
  el.app.classList.remove("camera-on");
  if (el.still.src) URL.revokeObjectURL(el.still.src);
  if (still) {
    el.still.src = URL.createObjectURL(still);
    el.still.hidden = false;
  } else {
    el.still.removeAttribute("src");
    el.still.hidden = true;
  }
  el.cameraOff.hidden = Boolean(still);
}

async function runCheck() {
  if (busy) return;
  busy = true;
  // iOS asks for motion access only from inside a click handler: request it before any await.
  const permission = requestMotionPermission();
  el.start.hidden = true;
  el.retry.hidden = true;
  hidePanels();
  el.sensors.hidden = true;
  setState("starting");
  try {
    motionPermission = await permission;
    motion.start(); // listen from now on: the first events may come late or be all-null
    await ensureCamera();

    say("Preparing the check…");
    const session = await createSession();
    const capture = session.capture;
    motion.maxSamples = Math.max(100, 2 * (capture.imu_max_samples ?? 2000));

    showChallenge(session.challenge);
    setState("countdown");
    for (let i = COUNTDOWN_STEPS; i > 0; i--) {
      el.countdown.textContent = String(i);
      showChallenge(session.challenge); // motion events may start arriving during the countdown
      headHint();
      say(`${wording(session.challenge)}. Recording starts in ${i}…`);
      await sleep(COUNTDOWN_STEP_MS);
    }
    el.countdown.textContent = "";

    setState("capturing");
    say(`Recording: ${wording(session.challenge)}.`);
    setProgress(0);
    el.progressWrap.hidden = false;
    const shot = await captureFrames(el.video, capture, (f) => {
      setProgress(f);
      stepAt(session.challenge, f * capture.duration_ms);
    });
    setProgress(1);
    el.challenge.hidden = true;

    const { blobs, times } = shot;
    releaseCamera(blobs[Math.floor(blobs.length / 2)]);
    if (blobs.length < (capture.min_frames ?? 8)) {
      throw new ApiError(
        `The camera delivered only ${blobs.length} frames in ${capture.duration_ms / 1000} s ` +
          `(at least ${capture.min_frames} are needed). Close other apps using the camera and retry.`,
        { code: "too_few_frames" },
      );
    }
    const imu = motion
      .window(times[0], times[times.length - 1], 100, capture.imu_max_samples)
      .map(roundRow);
    showSensorNote(imu.length);

    setState("uploading");
    say(`Checking ${blobs.length} frames${imu.length ? ` and ${imu.length} motion samples` : ""}…`);
    const result = await submitCheck(session.session_id, blobs, times, imu);
    el.progressWrap.hidden = true;
    showResult(result);
  } catch (err) {
    if (err instanceof CameraError || err instanceof ApiError) showError(err);
    else showError({ message: `Unexpected error: ${err?.message || err}`, code: "page_error" });
  } finally {
    busy = false;
    if (stream) releaseCamera(); // after an error before the capture ended
    el.challenge.hidden = true;
    el.progressWrap.hidden = true;
    // First failure before the camera started: offer the same button again.
    el.retry.hidden = false;
    el.start.hidden = true;
    el.retry.textContent = el.app.dataset.state === "result" ? "Check again" : "Try again";
  }
}

function showSensorNote(samples) {
  let text;
  if (samples > 0) {
    text = `Motion sensors: ${samples} samples recorded.`;
  } else if (motionPermission === "denied") {
    text = "Motion sensors: access was refused, so this check runs on video only.";
  } else if (!motionSupported() || motion.events === 0) {
    text = "Motion sensors: none on this device, so this check runs on video only.";
  } else {
    text = "Motion sensors: no usable readings, so this check runs on video only.";
  }
  el.sensors.textContent = text;
  el.sensors.hidden = false;
}

// Leaving the page (or switching apps) turns the camera off; the next check turns it on again.
document.addEventListener("visibilitychange", () => {
  if (document.hidden && !busy && stream) releaseCamera();
});

el.start.addEventListener("click", runCheck);
el.retry.addEventListener("click", runCheck);
el.video.addEventListener("resize", fitGuide);
el.video.addEventListener("loadedmetadata", fitGuide);
