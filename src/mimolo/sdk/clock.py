"""The clock an agent reads, injectable so tests drive timing without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time for timestamps, monotonic time for deadlines."""

    def now(self) -> datetime:
        """Timezone-aware UTC wall time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC, as the protocol's timestamps are written."""
    return moment.astimezone(UTC).isoformat()


__all__ = ["Clock", "SystemClock", "iso"]
