// The two calls of the liveness HTTP API v1, with its JSON errors turned into readable text.

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error", retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const FALLBACK = {
  400: "The request was not understood by the server.",
  404: "The server does not know this address or check session. Start a new check.",
  410: "This check session was already used or has expired. Start a new check.",
  413: "The capture is too large for the server.",
  415: "The server did not accept the upload format.",
  422: "The capture could not be used.",
  429: "Too many checks from this device right now.",
  503: "The service is starting or unavailable; try again in a moment.",
};

async function request(url, options) {
  let res;
  try {
    res = await fetch(url, { ...options, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError("Could not reach the server. Check the connection and try again.");
  }
  let body = null;
  const type = res.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      body = await res.json();
    } catch {
      body = null;
    }
  }
  if (res.ok && body) return body;
  const err = body?.error ?? {};
  const retryAfter = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  let message = err.message || FALLBACK[res.status] || `The server answered ${res.status}.`;
  if (res.status === 429 && Number.isFinite(retryAfter)) {
    message += ` Try again in ${retryAfter} s.`;
  }
  throw new ApiError(message, {
    status: res.status,
    code: err.code || (res.ok ? "bad_response" : `http_${res.status}`),
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
  });
}

export function createSession() {
  return request("/api/v1/sessions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
}

// frames: [Blob] JPEG, times: [ms], imu: [[t_ms, ax, ay, az, gx, gy, gz]] (may be empty).
export function submitCheck(sessionId, frames, times, imu) {
  const form = new FormData();
  frames.forEach((blob, i) => {
    form.append("frames", blob, `frame_${String(i).padStart(5, "0")}.jpg`);
  });
  form.append("frames_t_ms", JSON.stringify(times.map((t) => Math.round(t * 1e3) / 1e3)));
  if (imu.length > 0) form.append("imu", JSON.stringify(imu));
  return request(`/api/v1/sessions/${encodeURIComponent(sessionId)}/check`, {
    method: "POST",
    body: form,
  });
}
