"""A strict multipart/form-data parser for a body already in memory (RFC 7578).

The check upload is ~30 image parts in one bounded body (MAX_CONTENT_LENGTH). Werkzeug's
streaming parser spends ~7 ms per check on it in Python (a regular-expression boundary search
per chunk); here the body is split with bytes.find (C speed). Only what browsers and HTTP
libraries send is accepted: CRLF line ends, a Content-Disposition "form-data" header with a
name on every part. Anything else is a 400 with a clear message, never an exception.
"""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.http import parse_options_header

from liveness.server.errors import ApiError

MAX_HEADER_BYTES = 8 * 1024  # per part: a few short header lines
MAX_BOUNDARY = 200


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad_multipart", f"malformed multipart body: {message}")


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart/form-data Content-Type. RFC 2046 allows 1-70
    characters; up to MAX_BOUNDARY are accepted, because Werkzeug's own test client sometimes
    writes ~75 (a boundary over 70 once made 1 upload in ~250 fail here)."""
    _, options = parse_options_header(content_type)
    b = options.get("boundary", "")
    if not 1 <= len(b) <= MAX_BOUNDARY or not b.isascii():
        raise _bad("missing or invalid boundary in the Content-Type header")
    return b.encode("ascii")


def _headers(raw: bytes, k: int) -> Headers:
    out = Headers()
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise _bad(f"part {k}: header line {line[:40]!r} is not 'Name: value'")
        try:
            out.add(name.strip().decode("latin-1"), value.strip().decode("utf-8", "replace"))
        except ValueError as e:  # e.g. a stray CR inside a header line
            raise _bad(f"part {k}: unusable header line ({e})") from None
    return out


def parse_form(
    body: bytes, boundary: bytes, max_parts: int, max_field_bytes: int
) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    """(text fields, file parts) of a multipart body, as Werkzeug's request.form / .files."""
    delim = b"--" + boundary
    form: MultiDict[str, str] = MultiDict()
    files: MultiDict[str, FileStorage] = MultiDict()
    if not body:
        return form, files  # an empty form: the caller names what is missing
    pos = body.find(delim)
    if pos < 0:
        raise _bad("the boundary does not occur in the body")
    pos += len(delim)
    k = 0
    while not body.startswith(b"--", pos):  # "--boundary--" closes the body
        if not body.startswith(b"\r\n", pos):
            raise _bad(f"part {k}: no line break after the boundary")
        end = body.find(b"\r\n" + delim, pos + 2)
        if end < 0:
            raise _bad(f"part {k}: not terminated by the boundary (truncated body?)")
        k += 1
        if k > max_parts:
            raise ApiError(413, "too_large", f"the form has more than {max_parts} parts")
        part = body[pos + 2 : end]
        split = part.find(b"\r\n\r\n")
        if split < 0 and part.endswith(b"\r\n"):
            # An empty part written as "headers CRLF CRLF --boundary" (Werkzeug's own client
            # does): the second CRLF was taken as the delimiter's.
            split, part = len(part) - 2, part + b"\r\n"
        if split < 0:
            raise _bad(f"part {k - 1}: no blank line after its headers")
        if split > MAX_HEADER_BYTES:
            raise _bad(f"part {k - 1}: headers longer than {MAX_HEADER_BYTES} bytes")
        headers = _headers(part[:split], k - 1)
        data = part[split + 4 :]
        kind, params = parse_options_header(headers.get("Content-Disposition", ""))
        name = params.get("name")
        if kind.lower() != "form-data" or not name:
            raise _bad(f"part {k - 1}: needs 'Content-Disposition: form-data; name=...'")
        if "filename" in params:
            files.add(
                name,
                FileStorage(
                    io.BytesIO(data), params["filename"], name,
                    headers.get("Content-Type", "application/octet-stream"), headers=headers,
                ),
            )  # fmt: skip
        else:
            hint = " (a file part needs filename=... in its Content-Disposition)"
            if len(data) > max_field_bytes:
                raise ApiError(
                    413,
                    "too_large",
                    f"a text field ({name[:40]!r}) exceeds {max_field_bytes} bytes{hint}",
                )
            try:
                form.add(name, data.decode("utf-8"))
            except UnicodeDecodeError:
                raise _bad(f"text field {name[:40]!r} is not UTF-8{hint}") from None
        pos = end + 2 + len(delim)
    return form, files
