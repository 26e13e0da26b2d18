"""The OpenAPI 3.0 document of the service (hand-written; tests check it against the routes)."""

from __future__ import annotations

from typing import Any

from liveness import __version__

ERROR_CODES = {
    "400": "Malformed request (bad multipart, JSON, field or frame data)",
    "404": "Unknown session",
    "410": "Session already used or expired",
    "413": "Too large (body, frame count, pixels per frame, IMU samples)",
    "415": "Wrong content type (body or frame part)",
    "422": "Well-formed but unusable: too few frames, timestamps, IMU, no face",
    "429": "Rate limited; see Retry-After",
    "503": "Not ready (model loading) or session store unavailable",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in codes:
        resp: dict[str, Any] = {
            "description": ERROR_CODES[c],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        if c in ("429", "503"):
            resp["headers"] = {"Retry-After": {"schema": {"type": "integer"}}} if c == "429" else {}
        out[c] = resp
    return out


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NUM = {"type": "number"}
STR = {"type": "string"}
DIRECTION = {"type": "string", "enum": ["left", "right", "up", "down"]}
# What the session's "capture" object holds (integers); all but max_frame_pixels required.
CAPTURE_FIELDS = ("duration_ms", "fps", "max_side", "min_frames", "max_frames",
                  "max_upload_bytes", "max_frame_pixels", "imu_max_samples")  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": STR, "message": STR},
            }
        },
    },
    "Challenge": {
        "type": "object",
        "required": ["id", "text", "arrow", "steps"],
        "properties": {
            "id": {"type": "string", "example": "left-up"},
            "text": STR,
            "text_head": {
                "type": "string",
                "description": "The same challenge for a user without motion sensors: turn the "
                "head (phone left = head right, phone up = head down)",
            },
            "arrow": DIRECTION,
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["arrow", "text", "start_ms", "end_ms"],
                    "properties": {
                        "arrow": DIRECTION,
                        "text": STR,
                        "text_head": STR,
                        "start_ms": {"type": "integer"},
                        "end_ms": {"type": "integer"},
                    },
                },
            },
        },
    },
    "Capture": {
        "type": "object",
        "required": [k for k in CAPTURE_FIELDS if k != "max_frame_pixels"],
        "properties": {k: {"type": "integer"} for k in CAPTURE_FIELDS},
    },
    "Session": {
        "type": "object",
        "required": ["session_id", "expires_at", "expires_in_s", "challenge", "capture"],
        "properties": {
            "session_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22,128}$"},
            "expires_at": {"type": "string", "format": "date-time"},
            "expires_in_s": NUM,
            "challenge": _ref("Challenge"),
            "capture": _ref("Capture"),
        },
    },
    "CheckRequest": {
        "type": "object",
        "required": ["frames", "frames_t_ms"],
        "properties": {
            "frames": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "image/jpeg or image/png parts, capture order, not mirrored",
            },
            "frames_t_ms": {"type": "string", "description": "JSON array of numbers (ms)"},
            "imu": {
                "type": "string",
                "description": "JSON array of [t_ms, ax, ay, az, gx, gy, gz] rows; absent or [] "
                "= no sensors",
            },
        },
    },
    "CheckResult": {
        "type": "object",
        "required": [
            "session_id",
            "live",
            "score",
            "threshold",
            "modalities",
            "challenge",
            "reasons",
            "model",
            "server_time",
            "timing_ms",
        ],
        "properties": {
            "session_id": STR,
            "live": {"type": "boolean"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "model_score": {"type": "number", "minimum": 0, "maximum": 1},
            "threshold": NUM,
            "modalities": {"type": "array", "items": {"type": "string", "enum": ["video", "imu"]}},
            "motion": {
                "type": ["object", "null"],
                "description": "the video's motion against the phone's (liveness.motion: the "
                "gyro's turn plus the accelerometer's translation seen as parallax); "
                "null without sensors",
                "required": ["status", "agrees", "words", "findings"],
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["agrees", "disagrees", "no_motion", "unreliable"],
                    },
                    "agrees": {"type": "boolean"},
                    "words": STR,
                    "findings": {"type": "array", "items": STR},
                    "intervals_dropped": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "frame intervals set aside as tracking failures before "
                        "the comparison (at most a fifth of them)",
                    },
                    "parallax_per_m": {
                        "type": "array",
                        "items": {"type": ["number", "null"]},
                        "description": "fitted inverse depth (1/m) of the room and the face "
                        "region: how much of the phone's translation the video shows",
                    },
                    "room_per_m": {
                        "type": ["number", "null"],
                        "description": "the room's inverse depth (1/m) with its turn taken as "
                        "the gyro's: 0.25–1 for a room 1–4 m away, 2–4 for a print or a screen "
                        "filling the view; null when not measured",
                    },
                    "scene_misfit": {
                        "type": ["number", "null"],
                        "description": "how far the scene's best-explained quarter moves beyond "
                        "what the phone's turn and translation explain at any depth, relative to "
                        "the turn's motion: a room holds still (~0.1–0.3), a screen replaying a "
                        "recording does not; null when not measured (liveness.motion.rigid)",
                    },
                },
            },
            "relief": {
                "type": "object",
                "description": "whether the face moves like a plane (a print, a screen) or like "
                "a 3-D face (liveness.motion.relief); present when the model's fusion or its "
                "flatness gate uses it",
                "required": ["misfit_pct", "points", "frames", "region", "summary"],
                "properties": {
                    "misfit_pct": {
                        "type": ["number", "null"],
                        "description": "the tracked points' largest median misfit to one "
                        "homography, % of the frame's width; null when not measurable",
                    },
                    "points": {"type": "integer", "minimum": 0},
                    "frames": {"type": "integer", "minimum": 0},
                    "region": {
                        "enum": ["face", "frame"],
                        "description": "face: the face region's own tracks; frame: the motion "
                        "check's tracks over the whole frame (MotionConfig.relief_source)",
                    },
                    "summary": STR,
                },
            },
            "accel_sign_flipped": {"type": "boolean"},
            "challenge": {
                "type": "object",
                "required": ["id", "followed", "judged_from", "detail"],
                "properties": {
                    "id": STR,
                    "followed": {"type": "boolean"},
                    "judged_from": {"type": "string", "enum": ["imu", "imu+video", "video"]},
                    "detail": STR,
                    "steps": {"type": "array", "items": {"type": "object"}},
                },
            },
            "reasons": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "enum": [
                                "no_motion",
                                "motion_mismatch",
                                "motion_disagrees",
                                "score_below_threshold",
                                "face_flat",
                                "scene_flat",
                                "scene_moves",
                                "challenge_not_followed",
                            ],
                        },
                        "message": STR,
                    },
                },
            },
            "model": {
                "type": "object",
                "required": ["version", "sha256", "backend"],
                "properties": {"version": STR, "sha256": STR, "backend": STR},
            },
            "server_time": {"type": "string", "format": "date-time"},
            "timing_ms": {"type": "object", "additionalProperties": NUM},
        },
    },
    "Ready": {
        "type": "object",
        "required": ["ready", "model", "sessions"],
        "properties": {
            "ready": {"type": "boolean"},
            "model": {"type": "object", "nullable": True},
            "sessions": {"type": "boolean"},
            "model_file": {
                "type": "object",
                "description": "Under `liveness serve`: whether the model file on disk still "
                "matches the verified model being served (a change is reported, never loaded)",
                "properties": {
                    "path": {"type": "string"},
                    "on_disk": {"type": "string", "enum": ["unchanged", "changed", "missing"]},
                    "on_disk_sha256": {"type": "string"},
                },
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    sid = {
        "name": "session_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "liveness",
            "version": __version__,
            "description": "Face liveness checks: a session with a motion challenge, then one "
            "check of a ~2 s capture (frames + motion sensors, see CONTRACT.md).",
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Process is up",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"type": "string", "enum": ["ok"]}},
                            },
                            "Alive",
                        )
                    },
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Model loaded and session store reachable",
                    "responses": {
                        "200": _json(_ref("Ready"), "Ready"),
                        "503": _json(_ref("Ready"), "Not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Text format 0.0.4",
                            "content": {"text/plain": {"schema": STR}},
                        }
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")},
                }
            },
            "/api/v1/sessions": {
                "post": {
                    "summary": "Create a single-use session with a random motion challenge",
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "201": _json(_ref("Session"), "Session created"),
                        **_errors("400", "413", "415", "429", "503"),
                    },
                }
            },
            "/api/v1/sessions/{session_id}/check": {
                "post": {
                    "summary": "Check one capture against the session (consumes the session)",
                    "parameters": [sid],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": _ref("CheckRequest"),
                                "encoding": {"frames": {"contentType": "image/jpeg, image/png"}},
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("CheckResult"), "Verdict"),
                        **_errors("400", "404", "410", "413", "415", "422", "429", "503"),
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
