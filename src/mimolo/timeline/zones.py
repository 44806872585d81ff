"""Local time for people: the ``timezone`` setting, local days and weeks (DESIGN §2).

The ledger stays UTC; days, weeks and totals are cut at local midnight in the configured
IANA zone. A local day is ``[midnight, next midnight)`` in that zone, so DST days last 23
or 25 hours, and a Los Angeles working day of 17:00-01:00 UTC (10:00-18:00 local) is one
day, not two.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mimolo.errors import ConfigError

logger = logging.getLogger(__name__)

LOCALTIME = Path("/etc/localtime")
_MARKER = "zoneinfo/"


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _key_from_path(path: Path) -> str | None:
    """``America/Los_Angeles`` from ``/usr/share/zoneinfo/America/Los_Angeles``."""
    text = str(path)
    cut = text.rfind(_MARKER)
    return text[cut + len(_MARKER) :] if cut >= 0 else None


def system_zone(*, environ: dict[str, str] | None = None, localtime: Path = LOCALTIME) -> ZoneInfo:
    """The system's zone: ``TZ`` when it names one, else ``/etc/localtime``, else UTC."""
    env = os.environ if environ is None else environ
    tz_env = env.get("TZ", "").lstrip(":")
    if tz_env:
        key = _key_from_path(Path(tz_env)) if tz_env.startswith("/") else tz_env
        zone = _zone(key) if key else None
        if zone is not None:
            return zone
    try:
        target = localtime.resolve(strict=True)
    except OSError:
        target = None
    if target is not None:
        key = _key_from_path(target)
        zone = _zone(key) if key else None
        if zone is not None:
            return zone
    logger.warning("the system's time zone is unknown (no TZ, no /etc/localtime): using UTC")
    return ZoneInfo("UTC")


def resolve_zone(setting: str) -> ZoneInfo:
    """The zone of the ``timezone`` setting: an IANA name, or ``""`` for the system's."""
    name = setting.strip()
    if not name:
        return system_zone()
    if name.startswith("/") or ".." in name.split("/"):
        raise ConfigError(f"{setting!r} is not an IANA time zone name", field="timezone")
    zone = _zone(name)
    if zone is None:
        raise ConfigError(
            f"unknown time zone {setting!r} (an IANA name such as Europe/Berlin)",
            field="timezone",
        )
    return zone


def zone_name(tz: ZoneInfo) -> str:
    """The name every view and report prints next to its times."""
    return tz.key


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day begins (a midnight skipped by DST begins at 01:00)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local day in UTC: 23, 24 or 25 hours long."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The local day an instant falls on."""
    return moment.astimezone(tz).date()


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """The local days that ``[start, end)`` overlaps, in order (empty for an empty range)."""
    if end <= start:
        return []
    first = local_date(start, tz)
    last = local_date(end - timedelta(microseconds=1), tz)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def week_start(day: date) -> date:
    """The ISO week's Monday."""
    return day - timedelta(days=day.weekday())


def local_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of the local days ``first`` to ``last`` inclusive."""
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


__all__ = [
    "local_date",
    "local_day_bounds",
    "local_days",
    "local_midnight",
    "local_range",
    "resolve_zone",
    "system_zone",
    "week_start",
    "zone_name",
]
