"""Builders for timeline tests: summaries at minute offsets from a fixed UTC base."""

from __future__ import annotations

from datetime import UTC, datetime

from mimolo.timeline.models import TimelineSummary

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE_S = BASE.timestamp()


def at(minutes: float) -> datetime:
    return datetime.fromtimestamp(BASE_S + minutes * 60, UTC)


def summ(
    instance: str,
    start_min: float,
    end_min: float | None = None,
    *,
    mode: str = "active",
    keep_alive: bool | None = True,
    client: str | None = None,
) -> TimelineSummary:
    """A summary covering ``[start_min, end_min]`` minutes after ``BASE``."""
    end = start_min if end_min is None else end_min
    return TimelineSummary(
        instance,
        "test_plugin",
        BASE_S + start_min * 60,
        BASE_S + end * 60,
        mode,
        keep_alive,
        client,
    )
