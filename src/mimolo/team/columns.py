"""Fetched record columns into decoded host-days (pure): the team view's hot path.

The shipper writes, per record, exactly what the timeline derivation reads (the
``TimelineSummary`` fields) as plain columns; the reader fetches those as tuples in binary
and this module groups them per host and UTC day into ``HostDay`` entries without any
JSON. A record whose columns are NULL (not a usable summary, or stored before the columns
existed and not certain to backfill) comes with its line, decoded by the local reader's own
``parse_lines``: its summary or its warning, exactly as on the machine itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

from mimolo.team.day_cache import Fingerprint, HostDay, Key
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import ReadWarning, parse_lines

DAY_ZERO = date(2000, 1, 1)
"""Days travel as an integer: days since this date (``day - DATE '2000-01-01'``)."""

# The fetched columns, in this order: TimelineSummary's fields, then the host, the day
# number and the line (only where the columns are NULL).
SELECT_COLUMNS = (
    "r.instance_id, r.plugin_id, r.span_start, r.span_end, r.mode, r.keep_alive,"
    " r.client_id, r.seq, r.host_id,"
    " (r.received_at AT TIME ZONE 'UTC')::date - DATE '2000-01-01',"
    " CASE WHEN r.span_start IS NULL THEN r.line END"
)

_SEQ = re.compile(rb'^\{"seq" ?: ?(\d+)')
_by_seq = attrgetter("seq")


def day_of(number: int) -> date:
    return DAY_ZERO + timedelta(days=number)


def day_number(day: date) -> int:
    return (day - DAY_ZERO).days


class _Group:
    """One host-day being gathered."""

    __slots__ = ("count", "lines", "max_seq", "summaries")

    def __init__(self) -> None:
        self.summaries: list[TimelineSummary] = []
        self.lines: list[tuple[int, str]] = []
        self.count = 0
        self.max_seq = 0


def _seq_warnings(text: bytes, warnings: list[ReadWarning], label: str) -> list[ReadWarning]:
    """Name a bad record by its seq (not its position among the decoded lines)."""
    lines = text.split(b"\n")
    out = []
    for w in warnings:
        line = lines[w.line - 1] if 0 < w.line <= len(lines) else b""
        match = _SEQ.match(line)
        out.append(ReadWarning(label, int(match.group(1)) if match else w.line, w.reason))
    return out


def decode_lines(label: str, lines: list[str]) -> tuple[list[TimelineSummary], list[ReadWarning]]:
    """Stored ledger lines through the local reader's ``parse_lines``."""
    data = "\n".join(lines).encode("utf-8")
    got, warnings = parse_lines(data + b"\n", label)
    return got, _seq_warnings(data, warnings, label) if warnings else []


def _finish(group: _Group, label: str) -> HostDay:
    summaries = group.summaries
    warnings: list[ReadWarning] = []
    if group.lines:
        group.lines.sort()
        got, warnings = decode_lines(label, [line for _, line in group.lines])
        summaries.extend(got)
        summaries.sort(key=_by_seq)  # ledger order, as the local reader yields them
    return HostDay(
        fingerprint=Fingerprint(group.count, group.max_seq),
        summaries=summaries,
        warnings=warnings,
    )


def host_days(rows: Iterable[tuple[Any, ...]], labels: dict[str, str]) -> dict[Key, HostDay]:
    """Fetched rows (``SELECT_COLUMNS``, any order) grouped into host-days.

    ``labels`` names each host in warnings. Repeated strings (ids, modes, clients) are
    shared, as the local reader shares them: a month of summaries costs far less memory.
    """
    groups: dict[tuple[str, int], _Group] = {}
    names: dict[str, str] = {}
    intern = names.setdefault
    ordered = True
    for inst, plugin, start, end, mode, keep_alive, client, seq, host_id, day, line in rows:
        group = groups.get((host_id, day))
        if group is None:
            group = groups[(host_id, day)] = _Group()
        group.count += 1
        if seq > group.max_seq:
            group.max_seq = seq
        elif seq < group.max_seq:
            ordered = False
        if start is None:
            group.lines.append((seq, line))
            continue
        group.summaries.append(
            TimelineSummary(
                intern(inst, inst), intern(plugin, plugin), start, end, intern(mode, mode),
                keep_alive, None if client is None else intern(client, client), seq,
            )
        )  # fmt: skip
    out: dict[Key, HostDay] = {}
    for (host_id, day), group in groups.items():
        if not ordered:
            group.summaries.sort(key=_by_seq)
        out[(host_id, day_of(day))] = _finish(group, labels.get(host_id, host_id))
    return out


__all__ = ["DAY_ZERO", "SELECT_COLUMNS", "day_number", "day_of", "decode_lines", "host_days"]
