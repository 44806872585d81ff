"""Strict line codec for the Agent JLP.

``decode_message`` turns one stdout line into a typed message or raises ``LineRejected``
(``mimolo.errors``) whose ``reason`` is one of ``REJECT_REASONS``; the caller counts it and
keeps reading.
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeVar

import msgspec

from mimolo.errors import LineRejected
from mimolo.protocol.commands import AgentCommand
from mimolo.protocol.messages import AgentMessage

DEFAULT_MAX_LINE_BYTES: Final = 256 * 1024

RejectReason = Literal[
    "oversized",
    "invalid_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "unknown_type",
    "invalid_value",
]
REJECT_REASONS: tuple[RejectReason, ...] = (
    "oversized",
    "invalid_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "unknown_type",
    "invalid_value",
)

_T = TypeVar("_T")

_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")


_message_decoder: Final[msgspec.json.Decoder[AgentMessage]] = msgspec.json.Decoder(AgentMessage)
_command_decoder: Final[msgspec.json.Decoder[AgentCommand]] = msgspec.json.Decoder(AgentCommand)
_encoder: Final = msgspec.json.Encoder()


def _classify(err: msgspec.ValidationError, tag_field: str) -> LineRejected:
    text = str(err)
    at = _AT_PATH.search(text)
    path = at.group("path").lstrip(".") if at else ""
    missing = _MISSING.search(text)
    if missing:
        field = f"{path}.{missing.group('field')}" if path else missing.group("field")
        return LineRejected("missing_field", text, field=field)
    if text.startswith("Expected `object`") and not path:
        return LineRejected("not_object", text)
    if path == tag_field and text.startswith("Invalid value"):
        return LineRejected("unknown_type", text, field=tag_field)
    if text.startswith("Expected"):
        return LineRejected("wrong_type", text, field=path or None)
    return LineRejected("invalid_value", text, field=path or None)


def _decode(decoder: msgspec.json.Decoder[_T], line: bytes, max_bytes: int, tag_field: str) -> _T:
    if len(line) > max_bytes:
        raise LineRejected("oversized", f"{len(line)} bytes exceeds the {max_bytes}-byte cap")
    try:
        return decoder.decode(line)
    except UnicodeDecodeError as exc:
        raise LineRejected("invalid_utf8", str(exc)) from None
    except msgspec.ValidationError as exc:
        raise _classify(exc, tag_field) from None
    except msgspec.DecodeError as exc:
        raise LineRejected("not_json", str(exc)) from None


def decode_message(line: bytes, *, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> AgentMessage:
    """Decode one agent line (without or with its trailing newline)."""
    return _decode(_message_decoder, line, max_bytes, "type")


def decode_command(line: bytes, *, max_bytes: int = DEFAULT_MAX_LINE_BYTES) -> AgentCommand:
    """Decode one command line as an agent receives it."""
    return _decode(_command_decoder, line, max_bytes, "cmd")


def encode_message(message: AgentMessage) -> bytes:
    """Encode a message as one newline-terminated line."""
    return _encoder.encode(message) + b"\n"


def encode_command(command: AgentCommand) -> bytes:
    """Encode a command as one newline-terminated line."""
    return _encoder.encode(command) + b"\n"


__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "REJECT_REASONS",
    "RejectReason",
    "decode_command",
    "decode_message",
    "encode_command",
    "encode_message",
]
