"""Strict HTTP/1.x request-head parsing, chunked decoding and JSON error responses for the front."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
METHOD = re.compile(rb"^[!$%&'*+\-.^_`|~0-9A-Z]{3,20}$")  # what gunicorn accepts too
TARGET = re.compile(rb"^/[\x21-\x7e]*$")  # origin-form, visible ASCII only
VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
VERSIONS = (b"HTTP/1.0", b"HTTP/1.1")
# Removed from what is forwarded: connection-level fields, and scheme claims only the front
# may make (it appends X-Forwarded-For / X-Forwarded-Proto itself).
HOP_BY_HOP = {
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"transfer-encoding",
    b"upgrade", b"expect", b"content-length", b"trailer", b"x-forwarded-ssl",
    b"x-forwarded-protocol", b"front-end-https", b"forwarded",
}  # fmt: skip
REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 408: "Request Timeout",
    413: "Content Too Large", 414: "URI Too Long", 417: "Expectation Failed",
    431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}  # fmt: skip
CODES = {
    400: "bad_request", 408: "request_timeout", 413: "too_large", 414: "uri_too_long",
    417: "expectation_failed", 431: "headers_too_large", 501: "not_implemented",
    502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout",
    505: "http_version_not_supported",
}  # fmt: skip


class HttpError(Exception):
    """A request the front answers itself (JSON, like the API) and then closes."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "http_error")


@dataclass
class Head:
    method: bytes
    target: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # names lower-case
    content_length: int | None = None
    chunked: bool = False
    expect_continue: bool = False
    keep_alive: bool = True

    def get(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


def parse_head(raw: bytes, max_line: int = 4094, max_fields: int = 100) -> Head:
    """Parse a request head (up to and including the blank line); HttpError if not strict."""
    lines = raw[:-4].split(b"\r\n") if raw.endswith(b"\r\n\r\n") else [raw]
    if len(lines[0]) > max_line:
        raise HttpError(414, f"request line longer than {max_line} bytes")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    if not METHOD.match(parts[0]):
        raise HttpError(400, "the method must be 3 to 20 upper-case token characters")
    method, target, version = parts
    if version not in VERSIONS:
        if version.startswith(b"HTTP/"):
            raise HttpError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
        raise HttpError(400, "malformed request line")
    if not TARGET.match(target):
        raise HttpError(400, "the request target must be a path starting with /")
    if len(lines) - 1 > max_fields:
        raise HttpError(431, f"more than {max_fields} header fields")
    head = Head(method, target, version, keep_alive=version == b"HTTP/1.1")
    lengths, codings = [], []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not TOKEN.match(name):
            raise HttpError(400, "malformed header field (obsolete folding or bad name)")
        value = value.strip(b" \t")
        if VALUE_BAD.search(value):
            raise HttpError(400, "control character in a header value")
        name = name.lower()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            head.keep_alive = (head.keep_alive or b"keep-alive" in tokens) and (
                b"close" not in tokens
            )
        elif name == b"expect":
            if value.lower() != b"100-continue":
                raise HttpError(417, "only 'Expect: 100-continue' is supported")
            head.expect_continue = version == b"HTTP/1.1"
        head.headers.append((name, value))
    if len(lengths) > 1:
        raise HttpError(400, "more than one Content-Length header")
    if lengths and codings:
        raise HttpError(400, "both Content-Length and Transfer-Encoding")
    if lengths:
        if not re.fullmatch(rb"[0-9]{1,18}", lengths[0]):
            raise HttpError(400, "Content-Length is not a decimal number")
        head.content_length = int(lengths[0])
    if codings:
        if version != b"HTTP/1.1" or len(codings) > 1 or codings[0].lower() != b"chunked":
            raise HttpError(501, "the only transfer coding supported is a single 'chunked'")
        head.chunked = True
    return head


def parse_chunk_size(line: bytes) -> int:
    """The size of a chunk from its size line (without CRLF); extensions are ignored."""
    size = line.split(b";", 1)[0].strip(b" \t")
    if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size):
        raise HttpError(400, "malformed chunk size in a chunked body")
    return int(size, 16)


def error_response(
    status: int, message: str, code: str | None = None, extra: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """A complete JSON error response that closes the connection."""
    body = json.dumps(
        {"error": {"code": code or CODES.get(status, "http_error"), "message": message}}
    ).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Connection", "close"),
        *extra,
    ]
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers
    )
    return head.encode("latin-1") + b"\r\n" + body


def dechunk(data: bytes) -> bytes:
    """A complete chunked body (a backend response) decoded."""
    out, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = parse_chunk_size(data[pos:end])
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        pos = end + 4 + size


DROP_FROM_RESPONSE = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}


def reframe(raw: bytes, is_head: bool, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A complete backend response with the front's own framing (Content-Length, no
    hop-by-hop fields) plus `extra` headers; ValueError/HttpError if it is malformed."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no response head")
    status_line, *fields = head.split(b"\r\n")
    status = int(status_line.split(b" ")[1])
    chunked = any(
        f.lower().startswith(b"transfer-encoding:") and b"chunked" in f.lower() for f in fields
    )
    if chunked:
        body = dechunk(body)
    keep_length = is_head or status in (204, 304) or 100 <= status < 200
    out = [b"HTTP/1.1" + status_line[8:]]
    for f in fields:
        name = f.split(b":", 1)[0].strip().lower()
        if name not in DROP_FROM_RESPONSE or (keep_length and name == b"content-length"):
            out.append(f)
    if not keep_length:
        out.append(b"Content-Length: " + str(len(body)).encode())
    out += [f"{k}: {v}".encode("latin-1") for k, v in extra]
    return b"\r\n".join(out) + b"\r\n\r\n" + (b"" if keep_length else body)
