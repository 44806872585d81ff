"""The reporter line protocol (DESIGN §11).

Control writes one ``generate`` line to the reporter's stdin; the reporter answers any number
of ``progress`` lines, then exactly one ``result`` or ``error`` line, and exits.

    → {"cmd": "generate", "params": {...}, "segments": [...], "review": {...}}
    ← {"type": "progress", "percent": 40, "message": "rendering"}
    ← {"type": "result", "path": "...", "mime": "application/pdf", "bytes": 1234, "sha256": "..."}
    ← {"type": "error", "message": "rate must be positive"}
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

from mimolo.reports.model import ReportReview, ReportSegment

MAX_LINE_BYTES = 1024 * 1024
"""Longest reporter line the runner accepts (a result line is a few hundred bytes)."""


class GenerateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The only command a reporter receives. ``review`` carries the zone and the figures
    (absent: the segments are plain evidence, reported in UTC without rounding)."""

    cmd: Literal["generate"] = "generate"
    params: dict[str, Any] = {}
    segments: list[ReportSegment] = []
    review: ReportReview | None = None


class ProgressLine(msgspec.Struct, tag_field="type", tag="progress", kw_only=True):
    percent: float
    message: str = ""


class ResultLine(msgspec.Struct, tag_field="type", tag="result", kw_only=True):
    path: str
    mime: str
    bytes: int
    sha256: str


class ErrorLine(msgspec.Struct, tag_field="type", tag="error", kw_only=True):
    message: str


ReporterLine: TypeAlias = ProgressLine | ResultLine | ErrorLine

_line_decoder: msgspec.json.Decoder[ReporterLine] = msgspec.json.Decoder(ReporterLine)
_request_decoder = msgspec.json.Decoder(GenerateRequest)
_encoder = msgspec.json.Encoder()


def decode_line(line: bytes) -> ReporterLine:
    """One reporter output line; raises ``msgspec.DecodeError`` (or ValueError) if invalid."""
    return _line_decoder.decode(line)


def decode_request(line: bytes) -> GenerateRequest:
    return _request_decoder.decode(line)


def encode(line: ReporterLine | GenerateRequest) -> bytes:
    """A newline-terminated protocol line."""
    return _encoder.encode(line) + b"\n"


__all__ = [
    "MAX_LINE_BYTES",
    "ErrorLine",
    "GenerateRequest",
    "ProgressLine",
    "ReporterLine",
    "ResultLine",
    "decode_line",
    "decode_request",
    "encode",
]
