"""Reading the evidence ledger for a time window, tolerant of torn and invalid lines.

Files are read whole (in large chunks for big files), split with ``bytes.split`` and decoded
by msgspec straight into typed views; nothing walks Python dicts per line. A bad line is a
``ReadWarning`` naming ``file:line`` and never stops the read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from mimolo.protocol.evidence import SummaryView
from mimolo.timeline.models import TimelineSummary, to_epoch

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 16 * 1024 * 1024


class ReadWarning(msgspec.Struct, frozen=True):
    """A ledger line that could not be used, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class LineView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ledger line as derivation reads it: ``EvidenceView`` without the fields it never
    uses (``received_at``, labels), which msgspec then skips instead of parsing."""

    seq: int
    plugin_id: str
    instance_id: str
    record: SummaryView


_decoder = msgspec.json.Decoder(LineView)

Take = Callable[[LineView], None]
"""Called with the view of each summary line read (a reader that wants more of a line
decodes into a ``LineView`` subclass with its own decoder)."""


def _epoch(value: datetime) -> float:
    return value.timestamp() if value.tzinfo is not None else to_epoch(value)


def _summary(view: LineView, names: dict[str, str]) -> TimelineSummary:
    """The compact summary of a view; raises ValueError for a reversed window.

    Repeated strings (ids, modes) are shared through ``names``: a year of summaries then
    costs a fraction of the memory.
    """
    rec = view.record
    data = rec.data
    window = data.window
    if window is None:
        start = end = _epoch(rec.timestamp)
    else:
        ws, we = window.start, window.end
        if ws.tzinfo is not None and we.tzinfo is not None:  # inlined _epoch: the hot path
            start, end = ws.timestamp(), we.timestamp()
        else:
            start, end = _epoch(ws), _epoch(we)
        if end < start:
            raise ValueError("window.end is before window.start")
    instance_id = names.setdefault(view.instance_id, view.instance_id)
    plugin_id = names.setdefault(view.plugin_id, view.plugin_id)
    client_id = data.client_id
    if client_id is not None:
        client_id = names.setdefault(client_id, client_id)
    signal = data.activity_signal
    if signal is None:
        return TimelineSummary(
            instance_id, plugin_id, start, end, "passive", None, client_id, view.seq
        )
    mode = "active" if signal.mode == "active" else "passive"
    return TimelineSummary(
        instance_id, plugin_id, start, end, mode, signal.keep_alive, client_id, view.seq
    )


def _decode_one(
    line: bytes,
    path: str,
    lineno: int,
    out: list[TimelineSummary],
    warnings: list[ReadWarning],
    names: dict[str, str],
    decoder: msgspec.json.Decoder[Any] = _decoder,
    take: Take | None = None,
) -> None:
    try:
        view = decoder.decode(line)
    except (msgspec.DecodeError, ValueError) as exc:
        warnings.append(ReadWarning(path, lineno, f"invalid line: {exc}"))
        return
    if view.record.type != "summary":
        warnings.append(ReadWarning(path, lineno, f"not a summary: {view.record.type!r}"))
        return
    try:
        out.append(_summary(view, names))
    except ValueError as exc:
        warnings.append(ReadWarning(path, lineno, f"invalid summary: {exc}"))
        return
    if take is not None:
        take(view)


def parse_lines(
    data: bytes,
    path: str,
    first_line: int = 1,
    *,
    decoder: msgspec.json.Decoder[Any] = _decoder,
    take: Take | None = None,
) -> tuple[list[TimelineSummary], list[ReadWarning]]:
    """Decode newline-separated ledger lines; bad lines become warnings, good ones survive.

    ``decoder`` (into a ``LineView`` subclass) and ``take`` let one pass read more of
    each line than derivation needs (facts for rules)."""
    out: list[TimelineSummary] = []
    warnings: list[ReadWarning] = []
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""
    decode = decoder.decode
    append = out.append
    names: dict[str, str] = {}
    name = names.setdefault
    summary = TimelineSummary
    lineno = first_line - 1
    for line in lines:  # the hot loop: ``_summary`` inlined for aware windows
        lineno += 1
        try:
            view = decode(line)
            rec = view.record
            if rec.type == "summary":
                data_ = rec.data
                window = data_.window
                if window is None or window.start.tzinfo is None or window.end.tzinfo is None:
                    append(_summary(view, names))
                    if take is not None:
                        take(view)
                    continue
                start, end = window.start.timestamp(), window.end.timestamp()
                if end >= start:
                    client_id = data_.client_id
                    if client_id is not None:
                        client_id = name(client_id, client_id)
                    signal = data_.activity_signal
                    append(
                        summary(
                            name(view.instance_id, view.instance_id),
                            name(view.plugin_id, view.plugin_id),
                            start,
                            end,
                            "passive" if signal is None else signal.mode,
                            None if signal is None else signal.keep_alive,
                            client_id,
                            view.seq,
                        )
                    )
                    if take is not None:
                        take(view)
                    continue
        except (msgspec.DecodeError, ValueError):
            pass
        if line.strip():
            _decode_one(line, path, lineno, out, warnings, names, decoder, take)
    if torn.strip():
        lineno = first_line + len(lines)
        try:
            view = decode(torn)
        except (msgspec.DecodeError, ValueError):
            warnings.append(ReadWarning(path, lineno, "torn line (no newline at end of file)"))
        else:
            _decode_one(torn, path, lineno, out, warnings, names, decoder, take)
    return out, warnings


def read_file(
    path: Path, *, decoder: msgspec.json.Decoder[Any] = _decoder, take: Take | None = None
) -> tuple[list[TimelineSummary], list[ReadWarning]]:
    """Every usable summary of one ledger file (missing file: nothing, no warning)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return [], []
    out: list[TimelineSummary] = []
    warnings: list[ReadWarning] = []
    with os.fdopen(fd, "rb") as fh:
        pending = b""
        line_no = 1
        while chunk := fh.read(_CHUNK_BYTES):
            buf = pending + chunk
            cut = buf.rfind(b"\n") + 1
            pending = buf[cut:]
            got, warn = parse_lines(buf[:cut], str(path), line_no, decoder=decoder, take=take)
            line_no += buf.count(b"\n", 0, cut)
            out.extend(got)
            warnings.extend(warn)
        if pending:
            got, warn = parse_lines(pending, str(path), line_no, decoder=decoder, take=take)
            out.extend(got)
            warnings.extend(warn)
    return out, warnings


def evidence_days(start: datetime, end: datetime) -> list[date]:
    """Ledger days to read for ``[start, end]``: the overlapped days plus one either side."""
    first = start.date() - timedelta(days=1)
    last = end.date() + timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def overlapping(
    summaries: list[TimelineSummary], start: datetime, end: datetime
) -> Iterator[TimelineSummary]:
    """Summaries whose span touches ``[start, end]``."""
    lo, hi = to_epoch(start), to_epoch(end)
    for s in summaries:
        if s.end >= lo and s.start <= hi:
            yield s


__all__ = [
    "LineView",
    "ReadWarning",
    "Take",
    "evidence_days",
    "overlapping",
    "parse_lines",
    "read_file",
]
