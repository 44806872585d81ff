"""The control-socket wire format (DESIGN §7): request/response envelopes and error codes.

Shared by the server (``mimolo.operations.control_server``) and the client
(``mimolo.ipc.client``) so both speak exactly one vocabulary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

API_VERSION: Final = 1
SERVER_NAME: Final = "mimolo-operations"

MAX_REQUEST_BYTES: Final = 64 * 1024
"""A request line longer than this is answered ``line_too_long`` and discarded."""

MAX_RESPONSE_BYTES: Final = 1024 * 1024
"""No response line is ever longer than this; tails are truncated with a flag first."""

RequestId = str | int | None

_AT_PATH: Final = re.compile(r"at `\$\.?(?P<path>[^`]*)`")
_NAMED: Final = re.compile(r"field `(?P<field>[^`]+)`")

# Stable error codes. The server answers only these (or a MimoloError's own code).
ERROR_CODES: Final[dict[str, str]] = {
    "invalid_json": "the line is not a UTF-8 JSON object",
    "invalid_request": "the request has no usable `cmd` or `request_id`",
    "unknown_command": "no command of that name",
    "invalid_field": "a field is unknown, missing or of the wrong type (named in `field`)",
    "line_too_long": "the request line exceeded the per-connection cap and was discarded",
    "response_too_large": "the answer would exceed the response bound",
    "unsupported_api_version": "`hello` asked for an API version this server does not speak",
    "peer_refused": "the connecting process belongs to another user",
    "unknown_instance": "no configured instance with that id",
    "unknown_template": "no template with that plugin id",
    "config_invalid": "the change does not validate (the key is named in `field`)",
    "invalid_id": "an id is not a slug (lowercase letters, digits, '-' or '_')",
    "invalid_label": "a label is empty, too long or not printable",
    "busy": "too many control connections (or the instance is changing state); retry",
    "agent_not_running": "the command needs a running agent",
    "agent_busy": "the agent is not reading its commands",
    "agent_timeout": "the agent did not acknowledge in time",
    "operations_not_ready": "the supervisor is not running yet",
    "shutting_down": "Operations is shutting down and accepts no new work",
    "internal_error": "the handler failed; details are in the diagnostics",
    "ops_unavailable": "(client side) Operations is not running or not reachable",
    "timeout": "(client side) no answer within the request timeout",
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
