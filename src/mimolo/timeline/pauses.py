"""Paused spans: when recording was off the record, from the capture audit trail.

Operations writes an audit record for every ``pause_capture``, ``resume_capture`` and
``pause_expired`` (DESIGN §5) to the diagnostics files. ``paused_spans`` turns those
records into spans, purely; ``read_capture_audits`` reads them from disk without
Operations. A gap in the evidence that a span covers was paused, not idle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from mimolo.dataroot import DataRoot

CAPTURE_ACTIONS: Final = frozenset({"pause_capture", "resume_capture", "pause_expired"})
# how far before a window the trail is read: a pause that started earlier still shows
LOOKBACK_DAYS: Final = 7
_decoder = msgspec.json.Decoder()


class PausedSpan(msgspec.Struct, frozen=True, kw_only=True):
    """``[start, end)`` with recording paused; ``ongoing`` while no end is known yet."""

    start: datetime
    end: datetime
    by: str | None = None
    ongoing: bool = False

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def _moment(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO string, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def paused_spans(
    records: Iterable[Mapping[str, Any]], start: datetime, end: datetime, *, now: datetime
) -> list[PausedSpan]:
    """The paused spans overlapping ``[start, end)``, clipped to it, in time order.

    Records are audit records (others are ignored) in any order. A pause runs from its
    record to a ``resume_capture``, a ``pause_expired`` (ended at its ``until``) or its own
    ``until`` if that came first; a later ``pause_capture`` while paused moves the end. A
    pause with no end yet is ``ongoing`` up to ``now``.
    """
    trail: list[tuple[datetime, str, Mapping[str, Any]]] = []
    for record in records:
        action = record.get("action")
        at = _moment(record.get("ts"))
        if record.get("kind") == "audit" and action in CAPTURE_ACTIONS and at is not None:
            trail.append((at, str(action), record))
    trail.sort(key=lambda item: item[0])
    spans: list[PausedSpan] = []
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None

    def close(at: datetime, ongoing: bool = False) -> None:
        nonlocal since
        assert since is not None
        spans.append(PausedSpan(start=since, end=max(at, since), by=by, ongoing=ongoing))
        since = None

    for at, action, record in trail:
        if since is not None and until is not None and until <= at:
            close(until)  # it ran out before this record (Operations was down, say)
        if action == "pause_capture":
            if since is None:
                since = at
            until = _moment(record.get("until"))
            by = record.get("via") if isinstance(record.get("via"), str) else None
        elif since is not None:
            ended = _moment(record.get("until")) if action == "pause_expired" else None
            close(ended if ended is not None and ended <= at else at)
    if since is not None:
        if until is not None and until <= now:
            close(until)
        else:
            close(now, ongoing=True)
    out: list[PausedSpan] = []
    for span in spans:
        lo, hi = max(span.start, start), min(span.end, end)
        if lo < hi:
            out.append(msgspec.structs.replace(span, start=lo, end=hi))
    return out


def read_capture_audits(root: DataRoot, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The capture audit records of the diagnostics files from ``LOOKBACK_DAYS`` before
    ``start`` to ``end`` (UTC days); unreadable files and lines are skipped."""
    out: list[dict[str, Any]] = []
    day = (start.astimezone(UTC) - timedelta(days=LOOKBACK_DAYS)).date()
    last = end.astimezone(UTC).date()
    while day <= last:
        try:
            content = root.diagnostics_file(day).read_bytes()
        except OSError:
            content = b""
        for raw in content.splitlines():
            if b'"audit"' not in raw:
                continue
            try:
                record = _decoder.decode(raw)
            except msgspec.DecodeError:
                continue
            if isinstance(record, dict) and record.get("action") in CAPTURE_ACTIONS:
                out.append(record)
        day += timedelta(days=1)
    return out


__all__ = [
    "CAPTURE_ACTIONS",
    "LOOKBACK_DAYS",
    "PausedSpan",
    "paused_spans",
    "read_capture_audits",
]
