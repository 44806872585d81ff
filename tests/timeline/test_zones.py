"""Local days in real zones: DST days of 23 and 25 hours, the system zone, bad names."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mimolo.errors import ConfigError
from mimolo.timeline.zones import (
    local_date,
    local_day_bounds,
    local_days,
    local_range,
    resolve_zone,
    system_zone,
    week_start,
)

LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (LA, date(2026, 3, 8), 23),  # spring forward
        (LA, date(2026, 11, 1), 25),  # fall back
        (LA, date(2026, 6, 1), 24),
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (AUCKLAND, date(2026, 9, 27), 23),  # the far east's spring, in September
        (AUCKLAND, date(2026, 4, 5), 25),
        (AUCKLAND, date(2026, 1, 15), 24),
    ],
)
def test_day_lengths_across_dst(tz: ZoneInfo, day: date, hours: int) -> None:
    start, end = local_day_bounds(day, tz)
    assert (end - start).total_seconds() == hours * 3600
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert local_date(start, tz) == day
    assert start.astimezone(tz).hour == 0 and end.astimezone(tz).hour == 0


def test_auckland_day_starts_the_previous_utc_day() -> None:
    start, _ = local_day_bounds(date(2026, 1, 15), AUCKLAND)
    assert start == datetime(2026, 1, 14, 11, 0, tzinfo=UTC)  # NZDT is UTC+13


def test_local_days_of_a_range() -> None:
    start = datetime(2026, 3, 7, 20, tzinfo=UTC)  # 12:00 in LA
    end = datetime(2026, 3, 10, 7, tzinfo=UTC)  # 00:00 in LA (PDT): the 10th not touched
    assert local_days(start, end, LA) == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert local_days(end, start, LA) == []


def test_local_range_and_week_start() -> None:
    assert week_start(date(2026, 3, 8)) == date(2026, 3, 2)  # a Sunday's Monday
    assert week_start(date(2026, 3, 2)) == date(2026, 3, 2)
    start, end = local_range(date(2026, 3, 2), date(2026, 3, 8), LA)
    assert (end - start).total_seconds() == 7 * 86400 - 3600


def test_resolve_names() -> None:
    assert resolve_zone("Europe/Berlin").key == "Europe/Berlin"
    assert resolve_zone(" Pacific/Auckland ").key == "Pacific/Auckland"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "../etc/passwd", "/etc/localtime", "x"])
def test_unknown_zone_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_zone(name)
    assert info.value.field == "timezone"
    assert info.value.code == "config_invalid"


def test_system_zone_from_tz_and_localtime(tmp_path: Path) -> None:
    assert system_zone(environ={"TZ": "Europe/Berlin"}).key == "Europe/Berlin"
    assert system_zone(environ={"TZ": ":America/Los_Angeles"}).key == "America/Los_Angeles"
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Pacific/Auckland")
    assert system_zone(environ={}, localtime=link).key == "Pacific/Auckland"


def test_system_zone_falls_back_to_utc_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mimolo.timeline.zones"):
        zone = system_zone(environ={"TZ": "Nowhere/Land"}, localtime=tmp_path / "missing")
    assert zone.key == "UTC"
    assert "using UTC" in caplog.text
