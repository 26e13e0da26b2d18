"""liveness: face liveness detection that fuses a selfie video with the phone's motion sensors."""

__version__ = "0.1.0"
