"""API errors: one exception type carrying HTTP status, snake_case code and a clear message."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in a request; rendered as {"error": {"code", "message"}} with `status`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


# Codes for HTTP errors raised by Flask/Werkzeug itself (routing, body size, multipart syntax).
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
