"""CAD interaction from trail writes: the debounce/inactivity state machine (pure).

Rules:

* Any trail write is interaction and makes the user active.
* At most one *ping* per ``min_ping_interval_s``: pings are the rate-limited count of
  "the user is working" moments (writes are counted too, unthrottled).
* The user turns inactive only once ``inactivity_threshold_s`` has passed since the last
  write, and the active span then ends at ``last write + threshold`` - never earlier
  (inactivity is not applied retroactively to the time before the threshold passed).

Time is float epoch seconds passed in by the caller, so tests drive it exactly.
"""

from __future__ import annotations

import msgspec

PING_TIMES_LIMIT = 100


class TrailWindow(msgspec.Struct, frozen=True):
    """What one summary window saw."""

    start: float
    end: float
    writes: int
    pings: int
    ping_times: list[float]
    last_write_at: float | None
    active_from: float | None
    active_to: float | None
    active_now: bool

    @property
    def was_active(self) -> bool:
        """Whether the user was active at any moment of the window."""
        return self.active_from is not None


class TrailActivity:
    """The state machine; feed it ``write`` and ``tick``, close windows with ``take``."""

    def __init__(
        self, *, min_ping_interval_s: float, inactivity_threshold_s: float, start: float
    ) -> None:
        self.min_ping_interval_s = min_ping_interval_s
        self.inactivity_threshold_s = inactivity_threshold_s
        self.active = False
        self.last_write_at: float | None = None
        self.last_ping_at: float | None = None
        self._window_start = start
        self._writes = 0
        self._pings = 0
        self._ping_times: list[float] = []
        self._active_from: float | None = None
        self._active_to: float | None = None

    @property
    def inactive_at(self) -> float | None:
        """When the user turns inactive if nothing more is written."""
        if self.last_write_at is None:
            return None
        return self.last_write_at + self.inactivity_threshold_s

    def write(self, at: float) -> bool:
        """A trail write at ``at``; True when it is a ping."""
        self.tick(at)
        self._writes += 1
        self.last_write_at = at if self.last_write_at is None else max(self.last_write_at, at)
        if not self.active:
            self.active = True
            if self._active_from is None:
                self._active_from = at
        self._active_to = max(self._active_to or at, at)
        if self.last_ping_at is None or at - self.last_ping_at >= self.min_ping_interval_s:
            self.last_ping_at = at
            self._pings += 1
            if len(self._ping_times) < PING_TIMES_LIMIT:
                self._ping_times.append(at)
            return True
        return False

    def tick(self, now: float) -> bool:
        """Advance time; True when the user just turned inactive."""
        end = self.inactive_at
        if not self.active or end is None or now < end:
            return False
        self.active = False
        self._active_to = max(self._active_to or end, end)
        return True

    def take(self, now: float) -> TrailWindow:
        """Close the window ``[start, now]`` and start the next one at ``now``."""
        self.tick(now)
        if self.active:
            self._active_to = now
        window = TrailWindow(
            start=self._window_start,
            end=now,
            writes=self._writes,
            pings=self._pings,
            ping_times=list(self._ping_times),
            last_write_at=self.last_write_at,
            active_from=self._active_from,
            active_to=self._active_to,
            active_now=self.active,
        )
        self._window_start = now
        self._writes = self._pings = 0
        self._ping_times = []
        self._active_from = now if self.active else None
        self._active_to = None
        return window


__all__ = ["PING_TIMES_LIMIT", "TrailActivity", "TrailWindow"]
