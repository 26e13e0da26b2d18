"""ServerSettings: every limit and default of the service in one dataclass (safe defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from liveness.challenge import DEFAULT_CHALLENGES, challenge_set
from liveness.clip import MIN_FRAMES


def cache_dir() -> Path:
    """Per-user cache directory of the service (sessions database, self-signed certificates)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liveness"


def default_sessions_url() -> str:
    return f"sqlite:///{cache_dir() / 'sessions.sqlite3'}"


@dataclass(frozen=True)
class ServerSettings:
    """Limits, sessions, challenges, privacy. Every number here is also in docs/SERVICE.md."""

    # Sessions: where they live (shared by all workers) and how long one may wait for a check.
    sessions_url: str = field(default_factory=default_sessions_url)
    session_ttl_s: float = 180.0
    # Challenges: ids such as "left" or "left-up" (a sequence); one is drawn per session.
    challenges: tuple[str, ...] = DEFAULT_CHALLENGES
    min_turn_deg: float = 5.0  # each step must turn the phone at least this much
    # What the page records (it reads these from the session response).
    capture_duration_ms: int = 2000
    capture_fps: int = 15
    capture_max_side: int = 320
    # Upload limits: checked before anything is decoded.
    max_upload_bytes: int = 8 * 1024 * 1024
    min_frames: int = MIN_FRAMES
    max_frames: int = 64
    max_frame_pixels: int = 640 * 640
    imu_max_samples: int = 2000
    max_json_field_bytes: int = 256 * 1024  # frames_t_ms and imu text fields
    # Checks processed at once per worker process (the others wait, their bodies unread): the
    # worst valid upload decodes to ~80 MB (64 frames of 640x640), so this bounds memory.
    max_concurrent_checks: int = 1
    # A check's independent steps on two threads (frames decoded by two threads from one queue;
    # the motion check beside the face check and the network): the same verdict sooner where
    # a core is free. Off (`liveness serve --no-overlap`) on hosts with as many busy workers as
    # cores, where it gains nothing.
    overlap: bool = True
    # Per-client sliding-window rate limit on POST /api/v1/* (0 disables it): at most
    # rate_limit requests in any rate_window_s-long interval.
    rate_limit: int = 60
    rate_window_s: int = 60
    trusted_proxies: int = 0  # >0: take the client address from X-Forwarded-For (that many hops)
    # Privacy: nothing is stored unless audit_dir is set; audit entries expire after audit_days.
    audit_dir: Path | None = None
    audit_days: float = 7.0

    def __post_init__(self) -> None:
        challenge_set(self.challenges)  # raises ValueError on an unknown id
        positive = {
            "session_ttl_s": self.session_ttl_s,
            "capture_duration_ms": self.capture_duration_ms,
            "capture_fps": self.capture_fps,
            "capture_max_side": self.capture_max_side,
            "max_upload_bytes": self.max_upload_bytes,
            "max_frame_pixels": self.max_frame_pixels,
            "imu_max_samples": self.imu_max_samples,
            "rate_window_s": self.rate_window_s,
            "audit_days": self.audit_days,
            "max_json_field_bytes": self.max_json_field_bytes,
            "max_concurrent_checks": self.max_concurrent_checks,
        }
        for name, v in positive.items():
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        if not MIN_FRAMES <= self.min_frames <= self.max_frames:
            raise ValueError(
                f"need {MIN_FRAMES} <= min_frames <= max_frames, got "
                f"{self.min_frames}..{self.max_frames}"
            )
        if self.rate_limit < 0 or self.trusted_proxies < 0 or self.min_turn_deg <= 0:
            raise ValueError("rate_limit, trusted_proxies >= 0 and min_turn_deg > 0 required")
