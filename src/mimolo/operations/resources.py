"""Operations measures its agents itself (psutil), as well as trusting their heartbeats.

A ``Sampler`` is passed to the supervisor: the real one reads psutil, simulation tests
pass ``NullSampler`` (fake processes have no CPU to measure).
"""

from __future__ import annotations

from typing import Protocol

import psutil


class Sampler(Protocol):
    def sample(self, key: str, pid: int) -> tuple[float | None, float] | None:
        """CPU percent since the last call (None on the first) and RSS in MiB of ``pid``."""
        ...

    def forget(self, key: str) -> None: ...


class PsutilSampler:
    """CPU% and RSS through psutil; the first reading of a process only primes it."""

    def __init__(self) -> None:
        self._procs: dict[str, psutil.Process] = {}

    def sample(self, key: str, pid: int) -> tuple[float | None, float] | None:
        ps = self._procs.get(key)
        try:
            cpu: float | None = None
            if ps is None or ps.pid != pid:
                ps = psutil.Process(pid)
                self._procs[key] = ps
                ps.cpu_percent(None)  # primes the counter; the first answer is meaningless
            else:
                cpu = round(ps.cpu_percent(None), 2)
            rss = round(ps.memory_info().rss / 2**20, 2)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            self._procs.pop(key, None)
            return None
        return cpu, rss

    def forget(self, key: str) -> None:
        self._procs.pop(key, None)


class NullSampler:
    """Measures nothing (simulated processes)."""

    def sample(self, key: str, pid: int) -> tuple[float | None, float] | None:
        return None

    def forget(self, key: str) -> None:
        return None


__all__ = ["NullSampler", "PsutilSampler", "Sampler"]
