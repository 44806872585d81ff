"""Where the review panel's data comes from: Operations' config, the review journals and
the ledger, read from disk (Control never writes them; Operations need not be running).

The config is read leniently, like the timeline policy: an unknown ``timezone`` shows
the page in UTC with a warning instead of failing, so the timeline stays readable
whatever state the config is in. The config and the two journals are read again only
when their file changes (size, modification time, inode), so a page costs the reviewed
range, not another parse of 200 rules and 5,000 adjustments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.review import Adjustment, InvoiceEntry, ReviewSettings
from mimolo.timeline import TimelinePolicy, cache_for, policy_from_config
from mimolo.timeline.identity import FileIdentity, file_identity
from mimolo.timeline.policy import read_config
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.review_io import (
    adjustments_path,
    invoices_path,
    read_adjustments,
    read_invoices,
)
from mimolo.timeline.reviewed import ReviewedTimeline
from mimolo.timeline.zones import local_day_bounds, resolve_zone, week_start

log = logging.getLogger(__name__)

View = Literal["day", "week"]
UTC_ZONE = ZoneInfo("UTC")
T = TypeVar("T")


class _ByIdentity:
    """The last value read from each file, valid while the file's identity is unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, object], tuple[FileIdentity | None, object]] = {}

    def get(self, path: Path, variant: object, read: Callable[[], T]) -> T:
        identity = file_identity(path)
        key = (str(path), variant)
        with self._lock:
            cached = self._values.get(key)
        if cached is not None and cached[0] == identity:
            return cached[1]  # type: ignore[return-value]
        value = read()
        with self._lock:
            self._values[key] = (identity, value)
        return value


_READS = _ByIdentity()


@dataclass(frozen=True)
class ReviewConfig:
    """The zone, review settings and policy the views use, and what could not be used."""

    zone: ZoneInfo
    settings: ReviewSettings
    policy: TimelinePolicy
    instance_clients: list[str]
    warnings: list[str] = field(default_factory=list)


def _read_config(root: DataRoot, warnings: list[str]) -> AgentConfig:
    config, found = read_config(root)
    warnings.extend(w for w in found if w not in warnings)
    return config


def review_config(root: DataRoot, *, group_by_client: bool = True) -> ReviewConfig:
    """Operations' config as the review views read it (defaults when missing)."""
    return _READS.get(
        root.config_path, group_by_client, lambda: _review_config(root, group_by_client)
    )


def _review_config(root: DataRoot, group_by_client: bool) -> ReviewConfig:
    policy, warnings = policy_from_config(root, group_by_client=group_by_client)
    config = _read_config(root, warnings)
    try:
        zone = resolve_zone(config.settings.timezone)
    except ConfigError as exc:
        warnings.append(f"settings.timezone: {exc.message}; showing UTC")
        zone = UTC_ZONE
    clients = sorted({i.client_id for i in config.instances.values() if i.client_id})
    return ReviewConfig(
        zone=zone,
        settings=config.review,
        policy=policy,
        instance_clients=clients,
        warnings=warnings,
    )


def view_window(view: View, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the local day, or of its local Monday-to-Sunday week."""
    if view == "week":
        monday = week_start(day)
        return local_day_bounds(monday, tz)[0], local_day_bounds(monday + timedelta(days=6), tz)[1]
    return local_day_bounds(day, tz)


@dataclass(frozen=True)
class ReviewData:
    """A reviewed range and the journals it came from."""

    config: ReviewConfig
    start: datetime
    end: datetime
    timeline: ReviewedTimeline
    adjustments: list[Adjustment]
    invoices: list[InvoiceEntry]


def load_review(root: DataRoot, start: datetime, end: datetime, config: ReviewConfig) -> ReviewData:
    """Evidence → rules → adjustments → locks over ``[start, end)`` (blocking: run it in a
    worker thread)."""
    adjustments = _READS.get(adjustments_path(root), None, lambda: read_adjustments(root))
    invoices = _READS.get(invoices_path(root), None, lambda: read_invoices(root))
    inputs = ReviewInputs(
        tz=config.zone, settings=config.settings, adjustments=adjustments, invoices=invoices
    )
    timeline = reviewed_timeline(root, start, end, config.policy, inputs, cache=cache_for(root))
    return ReviewData(
        config=config,
        start=start,
        end=end,
        timeline=timeline,
        adjustments=adjustments,
        invoices=invoices,
    )


__all__ = ["ReviewConfig", "ReviewData", "View", "load_review", "review_config", "view_window"]
