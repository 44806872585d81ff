"""What ``mimolo rules``, ``mimolo adjust`` and ``mimolo invoices`` share: the config read
without Operations (lenient), times given in the configured zone, assignment options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.protocol.config_schema import AgentConfig
from mimolo.timeline.policy import read_config as read_lenient_config
from mimolo.timeline.zones import local_day_bounds, resolve_zone, week_start, zone_name

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ReadConfig:
    """Operations' config as a reader sees it, the zone in force, and what was not used."""

    root: DataRoot
    config: AgentConfig
    zone: ZoneInfo
    warnings: list[str]

    @property
    def zone_name(self) -> str:
        return zone_name(self.zone)


def read_config(data_dir: Path | None) -> ReadConfig:
    """The config file, read leniently (a reader never fails on Operations' config)."""
    root = DataRoot.resolve(data_dir)
    config, warnings = read_lenient_config(root)
    try:
        zone = resolve_zone(config.settings.timezone)
    except ConfigError as exc:
        warnings.append(f"settings.{exc.message}; using the system's zone")
        zone = resolve_zone("")
    return ReadConfig(root, config, zone, warnings)


def parse_time(value: str, zone: ZoneInfo, *, end: bool = False, param: str = "") -> datetime:
    """``YYYY-MM-DD`` (a local day: its start, or with ``end`` the next day's start), an
    ISO time without a zone (local), or one with a zone (as given)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            bounds = local_day_bounds(day, zone)
            return bounds[1] if end else bounds[0]
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time", param_hint=param or None
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def this_week(zone: ZoneInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The current ISO week (Monday to Monday) in ``zone``."""
    today = (now or datetime.now(zone)).astimezone(zone).date()
    monday = week_start(today)
    return local_day_bounds(monday, zone)[0], local_day_bounds(monday + timedelta(days=6), zone)[1]


def window(
    start: str | None, end: str | None, zone: ZoneInfo, *, default_week: bool = True
) -> tuple[datetime | None, datetime | None]:
    """``--from``/``--to`` (``--to`` a date is inclusive); by default this week."""
    if start is None and end is None and default_week:
        return this_week(zone)
    lo = parse_time(start, zone, param="--from") if start else None
    hi = parse_time(end, zone, end=True, param="--to") if end else None
    if lo is not None and hi is not None and hi <= lo:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    return lo, hi


def iso(moment: datetime) -> str:
    """A time as sent to Operations (UTC, trailing Z)."""
    return moment.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def local(value: str | datetime | None, zone: ZoneInfo) -> str:
    """A stored time as a person reads it, in ``zone`` (``-`` for none)."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def assign_options(func: _F) -> _F:
    """``--client``, ``--project``, ``--tag`` (repeatable): what time is given to."""
    func = click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")(func)
    func = click.option("--project", default=None, help="The project.")(func)
    return click.option("--client", "client_id", default=None, help="The client id.")(func)


def assignment(client_id: str | None, project: str | None, tags: tuple[str, ...]) -> dict[str, Any]:
    """The ``assign`` field of a request (only what was given)."""
    out: dict[str, Any] = {}
    if client_id:
        out["client_id"] = client_id
    if project:
        out["project"] = project
    if tags:
        out["tags"] = list(tags)
    return out


__all__ = [
    "ReadConfig",
    "assign_options",
    "assignment",
    "hours",
    "iso",
    "local",
    "parse_time",
    "read_config",
    "this_week",
    "window",
]
