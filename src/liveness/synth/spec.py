"""ClipSpec: what one clip will be, decided before rendering (shared by clipgen and staging)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClipSpec:
    """What to render: decided up front so that plans are deterministic and cheap."""

    index: int
    subject: int
    attack: str  # none | print | replay | injection
    variant: str
    has_imu: bool
    challenge: str
