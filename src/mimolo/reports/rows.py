"""Segments arranged for documents: one row per segment piece within a local day.

Days are the report's zone's days (DESIGN §2): a segment crossing local midnight is split
at it, and a DST day is as long as it really is (23 or 25 hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import msgspec

from mimolo.reports.model import ReportSegment, SegmentSource, as_report_segment
from mimolo.timeline.models import Segment


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """A segment, or the part of one that falls within local ``day`` (times in the zone)."""

    day: date
    start: datetime
    end: datetime
    duration_s: float
    clients: list[str]
    instances: list[str]
    project: str | None = None
    tags: list[str] = []
    source: SegmentSource = "evidence"
    adjustment_ids: list[str] = []
    rule_ids: list[str] = []
    locked_by: str | None = None


class Day(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    rows: list[Row]
    total_s: float


def next_midnight(moment: datetime, zone: tzinfo) -> datetime:
    """The first local midnight after ``moment`` (UTC), whatever DST does that day."""
    day = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(), zone).astimezone(UTC)


def local_pieces(
    start: datetime, end: datetime, zone: tzinfo
) -> list[tuple[date, datetime, datetime]]:
    """``(local day, piece start, piece end)`` of ``[start, end]`` cut at local midnights."""
    pieces = []
    cursor = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while True:
        day = cursor.astimezone(zone).date()
        boundary = next_midnight(cursor, zone)
        if stop <= boundary:
            pieces.append((day, cursor, stop))
            return pieces
        pieces.append((day, cursor, boundary))
        cursor = boundary


def _clients(seg: Segment) -> list[str]:
    if isinstance(seg, ReportSegment) and seg.client_id:
        return [seg.client_id]
    return list(seg.client_ids)


def _row(
    seg: Segment, day: date, start: datetime, end: datetime, seconds: float, zone: tzinfo
) -> Row:
    reviewed = as_report_segment(seg)
    return Row(
        day=day,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        duration_s=seconds,
        clients=_clients(seg),
        instances=list(seg.instances),
        project=reviewed.project,
        tags=list(reviewed.tags),
        source=reviewed.source,
        adjustment_ids=list(reviewed.adjustment_ids),
        rule_ids=list(reviewed.rule_ids),
        locked_by=reviewed.locked_by,
    )


def rows_by_day(segments: Iterable[Segment], zone: tzinfo = UTC) -> list[Day]:
    """Rows grouped by local day (sorted); segments crossing local midnight are split."""
    days: dict[date, list[Row]] = {}
    for seg in sorted(segments, key=lambda s: (s.start, s.end)):
        pieces = local_pieces(seg.start, seg.end, zone)
        for day, start, end in pieces:
            seconds = (end - start).total_seconds() if len(pieces) > 1 else seg.duration_s
            days.setdefault(day, []).append(_row(seg, day, start, end, seconds, zone))
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


def format_hms(seconds: float) -> str:
    """``H:MM:SS`` of a duration's magnitude (whole seconds, half up)."""
    total = int(abs(seconds) + 0.5)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


__all__ = [
    "Day",
    "Row",
    "format_hm",
    "format_hms",
    "format_hours",
    "local_pieces",
    "next_midnight",
    "rows_by_day",
]
