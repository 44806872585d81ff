"""The control-socket wire format (DESIGN §7): request/response envelopes and error codes.

Shared by the server (``mimolo.ipc.server.socket_server``) and the client
(``mimolo.ipc.client``) so both speak exactly one vocabulary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from mimolo.errors import CODES

API_VERSION: Final = 1
SERVER_NAME: Final = "mimolo-operations"

MAX_REQUEST_BYTES: Final = 64 * 1024
"""A request line longer than this is answered ``line_too_long`` and discarded."""

MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""No response line is ever longer than this; tails are truncated with a flag first."""

RequestId = str | int | None

_AT_PATH: Final = re.compile(r"at `\$\.?(?P<path>[^`]*)`")
_NAMED: Final = re.compile(r"field `(?P<field>[^`]+)`")

# Stable error codes: the wire part of ``mimolo.errors.CODES``. The server answers only
# these (or a MimoloError's own code, such as an agent's widget error code).
ERROR_CODES: Final[dict[str, str]] = {
    code: entry.description for code, entry in CODES.items() if entry.ipc
}


def utc_now_iso() -> str:
    """The envelope's ``timestamp``: ISO-8601 UTC with a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Response(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One answer line: ``ok`` with ``data``, or not ``ok`` with ``error`` and ``message``."""

    ok: bool
    cmd: str | None
    request_id: RequestId
    timestamp: str
    data: Any = None
    error: str | None = None
    message: str | None = None
    field: str | None = None


def ok_response(cmd: str | None, request_id: RequestId, data: Any) -> Response:
    """A success envelope."""
    return Response(ok=True, cmd=cmd, request_id=request_id, timestamp=utc_now_iso(), data=data)


def error_response(
    cmd: str | None,
    request_id: RequestId,
    code: str,
    message: str,
    *,
    field: str | None = None,
) -> Response:
    """A failure envelope with a stable ``code``."""
    return Response(
        ok=False,
        cmd=cmd,
        request_id=request_id,
        timestamp=utc_now_iso(),
        error=code,
        message=message,
        field=field,
    )


def field_of(error: msgspec.ValidationError) -> str | None:
    """The field a msgspec validation error is about (``params.interval`` style)."""
    text = str(error)
    at = _AT_PATH.search(text)
    named = _NAMED.search(text)
    parts = (at.group("path") if at else "", named.group("field") if named else "")
    path = ".".join(p for p in parts if p)
    path = re.sub(r"\[(\d+)\]", r".\1", path).strip(".")
    return path or None


_encoder: Final = msgspec.json.Encoder()
_response_decoder: Final = msgspec.json.Decoder(Response)


def encode_line(obj: Any) -> bytes:
    """JSON plus the terminating newline."""
    return _encoder.encode(obj) + b"\n"


def decode_response(line: bytes) -> Response:
    """Parse one answer line (raises ``msgspec.DecodeError`` on garbage)."""
    return _response_decoder.decode(line)


__all__ = [
    "API_VERSION",
    "ERROR_CODES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "SERVER_NAME",
    "RequestId",
    "Response",
    "decode_response",
    "encode_line",
    "error_response",
    "field_of",
    "ok_response",
    "utc_now_iso",
]
