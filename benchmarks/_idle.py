"""An idle agent's cost, measured from outside: CPU % (nanosecond ``schedstat`` on Linux)
and peak RSS over a window, for the SDK and built-in agent benchmarks."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from mimolo.testing import AgentDriver, is_type

HANDSHAKE_WAIT_S = 30.0


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds used by every thread of ``proc``: nanosecond ``schedstat`` on Linux
    (psutil's 10 ms ticks round an idle agent down to zero), psutil elsewhere."""
    try:
        total_ns = 0
        for task in Path(f"/proc/{proc.pid}/task").iterdir():
            total_ns += int((task / "schedstat").read_text().split()[0])
        return total_ns / 1e9
    except (OSError, ValueError, IndexError):
        times = proc.cpu_times()
        return float(times.user + times.system)


def idle_cost(
    drivers: dict[str, AgentDriver], seconds: float, *, settle_s: float
) -> dict[str, tuple[float, float]]:
    """CPU % and peak RSS MB per started agent over ``seconds``, once each has sent its
    handshake and ``settle_s`` has passed (start-up work is not idle cost). The caller
    owns the drivers and kills them."""
    for name, driver in drivers.items():
        if driver.wait_for(is_type("handshake"), HANDSHAKE_WAIT_S) is None:
            raise RuntimeError(f"{name} sent no handshake: {bytes(driver.stderr)!r}")
    time.sleep(settle_s)
    procs = {name: psutil.Process(d.pid) for name, d in drivers.items()}
    cpu0 = {n: cpu_seconds(p) for n, p in procs.items()}
    peak = dict.fromkeys(procs, 0.0)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for name, proc in procs.items():
            peak[name] = max(peak[name], proc.memory_info().rss / 2**20)
        time.sleep(0.5)
    wall = time.monotonic() - started
    return {n: ((cpu_seconds(p) - cpu0[n]) / wall * 100.0, peak[n]) for n, p in procs.items()}


__all__ = ["HANDSHAKE_WAIT_S", "cpu_seconds", "idle_cost"]
