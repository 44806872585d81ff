"""A report's range: local days in the report's zone, or exact instants.

``--from 2026-03-02 --to 2026-03-06`` means the local days 2 to 6 March inclusive, cut at
local midnight (so a Los Angeles evening is not split at UTC midnight); an ISO-8601 time
with an offset is taken as that instant, one without as local wall time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mimolo.errors import ReportError
from mimolo.timeline.zones import local_midnight

DEFAULT_DAYS = 7
MAX_DAYS = 3660
"""Ten years: a longer range is almost certainly a typo in a year."""


def parse_bound(text: str, zone: ZoneInfo, *, end: bool, field: str) -> datetime:
    """A day (the start of it, or for ``end`` the start of the next) or a time, in UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return local_midnight(day + timedelta(days=1) if end else day, zone)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(
            f"{field}: {text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time",
            code="report_range_invalid",
            field=field,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def report_window(
    start: str | None, end: str | None, zone: ZoneInfo, *, today: date
) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC; by default the last seven local days including ``today``."""
    stop = parse_bound(end or today.isoformat(), zone, end=True, field="to")
    if start:
        begin = parse_bound(start, zone, end=False, field="from")
    else:
        last = (stop - timedelta(microseconds=1)).astimezone(zone).date()
        begin = local_midnight(last - timedelta(days=DEFAULT_DAYS - 1), zone)
    return check_window(begin, stop)


def day_window(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local days ``first`` to ``last`` inclusive, as a UTC ``[start, end)``."""
    return check_window(local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone))


def check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Refuse an inverted, empty or absurdly long range (``report_range_invalid``)."""
    if end <= start:
        raise ReportError(
            f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            code="report_range_invalid",
            field="to",
        )
    if end - start > timedelta(days=MAX_DAYS):
        raise ReportError(
            f"the range covers more than {MAX_DAYS} days", code="report_range_invalid", field="to"
        )
    return start, end


__all__ = ["DEFAULT_DAYS", "check_window", "day_window", "parse_bound", "report_window"]
