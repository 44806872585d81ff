"""The clock Operations reads: monotonic seconds for deadlines, UTC wall time for records.

Passed in, never read from ``time`` directly, so the supervisor runs on a virtual clock in
simulation tests. ``LoopClock`` reads the running event loop's own time, which is
``time.monotonic()`` on a real loop and virtual time on a simulated one, so deadlines set
with ``asyncio.timeout`` and readings of the clock always agree.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (the event loop's time)."""
        ...

    def now(self) -> datetime:
        """The current UTC wall time."""
        ...


class LoopClock:
    """The running loop's time for deadlines; wall time derived from it on a virtual loop."""

    def __init__(self, *, virtual_epoch: datetime | None = None) -> None:
        self._epoch = virtual_epoch

    def monotonic(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def now(self) -> datetime:
        if self._epoch is None:
            return datetime.now(UTC)
        return self._epoch + timedelta(seconds=self.monotonic())


__all__ = ["Clock", "LoopClock"]
