"""Segments arranged for documents: one row per segment piece within a UTC day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import msgspec

from mimolo.timeline.models import Segment
from mimolo.timeline.totals import day_start, split_by_day


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """A segment, or the part of one that falls within ``day``."""

    day: date
    start: datetime
    end: datetime
    duration_s: float
    clients: list[str]
    instances: list[str]


class Day(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    rows: list[Row]
    total_s: float


def rows_by_day(segments: Iterable[Segment]) -> list[Day]:
    """Rows grouped by UTC day (sorted); segments crossing midnight are split at it."""
    days: dict[date, list[Row]] = {}
    for seg in sorted(segments, key=lambda s: (s.start, s.end)):
        pieces = split_by_day(seg.start, seg.end)
        for day, seconds in pieces:
            start = max(seg.start, day_start(day))
            end = min(seg.end, day_start(day) + timedelta(days=1))
            row = Row(
                day=day,
                start=start,
                end=end,
                duration_s=seconds if len(pieces) > 1 else seg.duration_s,
                clients=list(seg.client_ids),
                instances=list(seg.instances),
            )
            days.setdefault(day, []).append(row)
    return [
        Day(day=day, rows=rows, total_s=sum(r.duration_s for r in rows))
        for day, rows in sorted(days.items())
    ]


def format_hm(seconds: float) -> str:
    """``H:MM`` of a duration (rounded to the minute)."""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def format_hours(seconds: float, places: int = 2) -> str:
    return f"{seconds / 3600:.{places}f}"


__all__ = ["Day", "Row", "format_hm", "format_hours", "rows_by_day"]
