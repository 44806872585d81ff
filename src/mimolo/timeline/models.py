"""Plain data of the derived timeline: the compact summary input, the policy, the output.

Times inside the core are POSIX seconds (floats, UTC) so the hot loop compares and subtracts
numbers instead of ``datetime`` objects; the edges convert with ``to_epoch`` / ``from_epoch``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime

import msgspec

from mimolo.errors import ConfigError

DEFAULT_COOLDOWN_S = 600.0


class TimelineSummary(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One ledger summary reduced to what derivation reads (compact, cacheable).

    ``start``/``end`` are the summary's ``window`` or, without one, its timestamp twice;
    ``seq`` is the ledger record's sequence number (0 when built in memory), so a derived
    segment can name the records it comes from.
    """

    instance_id: str
    plugin_id: str
    start: float
    end: float
    mode: str
    keep_alive: bool | None = None
    client_id: str | None = None
    seq: int = 0


class TimelinePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How summaries become work segments (DESIGN §6).

    ``active_instances``: ``None`` means any instance whose summary says ``mode: active``;
    a set restricts activity to those instances (whatever mode they report).
    ``client_of_instance``: the client of an instance when its summaries carry none.
    ``group_by_client``: derive each client's segments separately.
    """

    cooldown_s: float = DEFAULT_COOLDOWN_S
    active_instances: frozenset[str] | None = None
    client_of_instance: Mapping[str, str] = msgspec.field(default_factory=dict)
    group_by_client: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cooldown_s) and self.cooldown_s >= 0):
            raise ConfigError("must be a finite number of seconds >= 0", field="cooldown_s")


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """A derived span of work. Derived on read, never written into the ledger."""

    start: datetime
    end: datetime
    duration_s: float
    instances: list[str]
    client_ids: list[str]
    summary_count: int


class DayTotal(msgspec.Struct, frozen=True, kw_only=True):
    """Work time within one UTC day; a segment crossing midnight is split."""

    day: date
    duration_s: float
    per_client: dict[str, float]


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    """Segments sorted by start, totals per UTC day and per client."""

    segments: list[Segment]
    per_day: list[DayTotal]
    per_client: dict[str, float]

    @property
    def total_s(self) -> float:
        return sum(s.duration_s for s in self.segments)


UNASSIGNED = "unassigned"
"""The ``per_client`` key for work that no client claims."""


def to_epoch(value: datetime) -> float:
    """POSIX seconds of an aware datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


__all__ = [
    "DEFAULT_COOLDOWN_S",
    "UNASSIGNED",
    "DayTotal",
    "Segment",
    "Timeline",
    "TimelinePolicy",
    "TimelineSummary",
    "from_epoch",
    "to_epoch",
]
