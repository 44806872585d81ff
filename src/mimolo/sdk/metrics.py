"""Self-measured CPU and memory for heartbeat ``metrics``, without importing psutil.

An agent measures itself so Operations can compare what the agent claims with what it
measures from outside. CPU comes from ``time.process_time`` against the injected clock's
monotonic time; RSS from ``/proc/self/statm`` (Linux) or ``resource`` elsewhere.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

DEFAULT_CPU_BUDGET_PERCENT: Final = 2.0
AVG_WINDOW_S: Final = 60.0


def rss_mb() -> float:
    """Current resident set size in MiB (peak RSS where the current one is unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is bytes on macOS, KiB on the other Unixes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class CpuMeter:
    """CPU use over the last interval and over a sliding 60 s window, plus budget time."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        budget_percent: float = DEFAULT_CPU_BUDGET_PERCENT,
        cpu_time: Callable[[], float] = time.process_time,
    ) -> None:
        self._monotonic = monotonic
        self._cpu_time = cpu_time
        self.budget_percent = budget_percent
        start = (monotonic(), cpu_time())
        self._last = start
        self._samples: deque[tuple[float, float]] = deque([start], maxlen=4096)
        self.recent_percent = 0.0
        self.over_budget_seconds = 0.0

    def sample(self) -> None:
        """Take one measurement; call it once per heartbeat."""
        now, cpu = self._monotonic(), self._cpu_time()
        wall = now - self._last[0]
        if wall > 0:
            self.recent_percent = max(0.0, (cpu - self._last[1]) / wall * 100.0)
            if self.recent_percent > self.budget_percent:
                self.over_budget_seconds += wall
        self._last = (now, cpu)
        self._samples.append((now, cpu))
        while len(self._samples) > 2 and self._samples[1][0] <= now - AVG_WINDOW_S:
            self._samples.popleft()

    @property
    def avg_60s_percent(self) -> float:
        """Average over up to the last 60 s of samples."""
        first, last = self._samples[0], self._samples[-1]
        wall = last[0] - first[0]
        if wall <= 0:
            return self.recent_percent
        return max(0.0, (last[1] - first[1]) / wall * 100.0)

    def metrics(self, *, queue: int = 0, mem_mb: float | None = None) -> dict[str, Any]:
        """The heartbeat metric keys of DESIGN §3 (``HEARTBEAT_METRIC_KEYS``)."""
        avg = self.avg_60s_percent
        return {
            "cpu_percent_recent": round(self.recent_percent, 3),
            "cpu_percent_avg_60s": round(avg, 3),
            "cpu_budget_percent": self.budget_percent,
            "cpu_budget_ok": avg <= self.budget_percent,
            "cpu_over_budget_seconds": round(self.over_budget_seconds, 3),
            "mem_mb": round(rss_mb() if mem_mb is None else mem_mb, 2),
            "queue": queue,
        }


__all__ = ["AVG_WINDOW_S", "DEFAULT_CPU_BUDGET_PERCENT", "CpuMeter", "rss_mb"]
