"""Report rows are cut at local midnight in the report's zone, DST days included."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mimolo.reports.model import ReportSegment
from mimolo.reports.rows import local_pieces, rows_by_day
from mimolo.timeline.zones import local_day_bounds


def seg(start: datetime, end: datetime, **extra: object) -> ReportSegment:
    return ReportSegment(
        start=start, end=end, duration_s=(end - start).total_seconds(), instances=["desk"],
        client_ids=["acme"], summary_count=1, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


DST_DAYS = [
    ("America/Los_Angeles", date(2026, 3, 8), 23),
    ("America/Los_Angeles", date(2026, 11, 1), 25),
    ("Europe/Berlin", date(2026, 3, 29), 23),
    ("Europe/Berlin", date(2026, 10, 25), 25),
    ("Pacific/Auckland", date(2026, 4, 5), 25),
    ("Pacific/Auckland", date(2026, 9, 27), 23),
]


@pytest.mark.parametrize(("zone_name", "day", "hours"), DST_DAYS)
def test_a_dst_day_is_one_row_as_long_as_it_really_is(
    zone_name: str, day: date, hours: int
) -> None:
    zone = ZoneInfo(zone_name)
    start, end = local_day_bounds(day, zone)
    before = start - timedelta(hours=2)
    after = end + timedelta(hours=3)
    days = rows_by_day([seg(before, after)], zone)
    assert [d.day for d in days] == [day - timedelta(days=1), day, day + timedelta(days=1)]
    assert [d.total_s / 3600 for d in days] == [2.0, float(hours), 3.0]
    middle = days[1].rows[0]
    assert middle.start.hour == 0 and middle.end.hour == 0  # local midnights
    assert middle.start.tzinfo is not None and middle.start.utcoffset() != middle.end.utcoffset()


def test_an_evening_in_los_angeles_is_one_day_not_two() -> None:
    """17:00-01:00 UTC is 09:00-17:00 in Los Angeles (PST): one local day."""
    zone = ZoneInfo("America/Los_Angeles")
    start = datetime(2026, 2, 10, 17, tzinfo=UTC)
    days = rows_by_day([seg(start, start + timedelta(hours=8))], zone)
    assert [(d.day, d.total_s) for d in days] == [(date(2026, 2, 10), 8 * 3600.0)]
    assert [(d.day, d.total_s) for d in rows_by_day([seg(start, start + timedelta(hours=8))])] == [
        (date(2026, 2, 10), 7 * 3600.0),
        (date(2026, 2, 11), 3600.0),
    ]


def test_pieces_cover_the_span_exactly_in_auckland() -> None:
    zone = ZoneInfo("Pacific/Auckland")
    start = datetime(2026, 4, 3, 5, 17, tzinfo=UTC)
    end = start + timedelta(days=4, minutes=3)
    pieces = local_pieces(start, end, zone)
    assert pieces[0][1] == start and pieces[-1][2] == end
    assert all(a[2] == b[1] for a, b in itertools.pairwise(pieces))
    assert sum(((b - a) for _, a, b in pieces), timedelta()) == end - start
    assert len({d for d, _, _ in pieces}) == len(pieces)


def test_rows_carry_what_produced_them() -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    row = rows_by_day(
        [seg(start, start + timedelta(hours=1), client_id="globex", project="web", tags=["ops"],
             source="manual", adjustment_ids=["a1"], locked_by="2026-0001")]
    )[0].rows[0]  # fmt: skip
    assert (row.clients, row.project, row.tags, row.source) == (
        ["globex"],
        "web",
        ["ops"],
        "manual",
    )
    assert (row.adjustment_ids, row.locked_by) == (["a1"], "2026-0001")
