"""Measure an agent from outside (psutil): idle CPU % and peak RSS over a window."""

from __future__ import annotations

import time

import psutil


class ResourceMonitor:
    """CPU used by the agent's process tree between ``begin`` and ``end``; peak RSS."""

    def __init__(self, pid: int) -> None:
        try:
            self._proc: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._proc = None
        self._cpu0 = 0.0
        self._t0 = 0.0
        self.wall_s = 0.0
        self.cpu_percent: float | None = None
        self.peak_rss_mb: float | None = None

    def _tree(self) -> list[psutil.Process]:
        """The agent and its descendants."""
        assert self._proc is not None
        try:
            return [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return [self._proc]

    def _cpu(self) -> float | None:
        """User + system CPU seconds of the tree, or None if it cannot be read."""
        if self._proc is None:
            return None
        total = 0.0
        try:
            for proc in self._tree():
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            return None
        return total

    def begin(self) -> None:
        """Start the measured window."""
        self._cpu0 = self._cpu() or 0.0
        self._t0 = time.monotonic()
        self.sample()

    def sample(self) -> None:
        """Record the current RSS of the tree (call periodically)."""
        if self._proc is None:
            return
        try:
            rss = sum(proc.memory_info().rss for proc in self._tree()) / (1024 * 1024)
        except psutil.Error:
            return
        self.peak_rss_mb = max(self.peak_rss_mb or 0.0, rss)

    def end(self) -> None:
        """Close the window and compute the CPU percentage."""
        self.wall_s = time.monotonic() - self._t0
        cpu = self._cpu()
        if cpu is not None and self.wall_s > 0:
            self.cpu_percent = max(0.0, (cpu - self._cpu0) / self.wall_s * 100.0)


__all__ = ["ResourceMonitor"]
