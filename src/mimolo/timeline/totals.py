"""Per-day and per-client totals of segments; a segment crossing UTC midnight is split."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from mimolo.timeline.models import UNASSIGNED, DayTotal, Segment, to_epoch

_DAY_S = 86400.0
_EPOCH = date(1970, 1, 1)


def split_by_day(start: datetime, end: datetime) -> list[tuple[date, float]]:
    """Seconds of ``[start, end]`` falling in each UTC day (zero-length spans give one entry)."""
    a, b = to_epoch(start), to_epoch(end)
    out: list[tuple[date, float]] = []
    day_index = int(a // _DAY_S)
    while True:
        day_end = (day_index + 1) * _DAY_S
        piece_end = min(b, day_end)
        out.append((_EPOCH + timedelta(days=day_index), max(0.0, piece_end - a)))
        if b <= day_end:
            return out
        a = day_end
        day_index += 1


def segment_client(segment: Segment) -> str:
    """The ``per_client`` key of a segment: its client, joined clients, or ``unassigned``."""
    return "+".join(segment.client_ids) if segment.client_ids else UNASSIGNED


def per_day_totals(segments: Iterable[tuple[str, Segment]]) -> list[DayTotal]:
    """Totals per UTC day (sorted), with the share of each client key."""
    days: dict[date, dict[str, float]] = {}
    for client, seg in segments:
        for day, seconds in split_by_day(seg.start, seg.end):
            bucket = days.setdefault(day, {})
            bucket[client] = bucket.get(client, 0.0) + seconds
    return [
        DayTotal(day=day, duration_s=sum(per.values()), per_client=dict(sorted(per.items())))
        for day, per in sorted(days.items())
    ]


def per_client_totals(segments: Iterable[tuple[str, Segment]]) -> dict[str, float]:
    """Total seconds per client key, sorted by key."""
    totals: dict[str, float] = {}
    for client, seg in segments:
        totals[client] = totals.get(client, 0.0) + seg.duration_s
    return dict(sorted(totals.items()))


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


__all__ = ["day_start", "per_client_totals", "per_day_totals", "segment_client", "split_by_day"]
