"""CpuMeter arithmetic on injected clocks; RSS is real and plausible."""

from __future__ import annotations

import pytest

from mimolo.protocol.messages import HEARTBEAT_METRIC_KEYS
from mimolo.sdk.metrics import CpuMeter, rss_mb


class Ticker:
    """A fake monotonic clock and CPU-time counter moved by the test."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 5.0

    def spend(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def meter(t: Ticker, budget: float = 2.0) -> CpuMeter:
    return CpuMeter(lambda: t.wall, budget_percent=budget, cpu_time=lambda: t.cpu)


def test_recent_and_average() -> None:
    t = Ticker()
    m = meter(t)
    t.spend(10, 0.1)
    m.sample()
    assert m.recent_percent == pytest.approx(1.0)
    t.spend(10, 0.3)
    m.sample()
    assert m.recent_percent == pytest.approx(3.0)
    assert m.avg_60s_percent == pytest.approx(2.0)


def test_over_budget_seconds_accumulate_only_when_over() -> None:
    t = Ticker()
    m = meter(t, budget=2.0)
    t.spend(15, 0.15)  # 1 %
    m.sample()
    t.spend(15, 0.75)  # 5 %
    m.sample()
    t.spend(15, 0.75)
    m.sample()
    assert m.over_budget_seconds == pytest.approx(30.0)
    metrics = m.metrics(queue=3, mem_mb=12.5)
    assert metrics["cpu_budget_ok"] is False  # the 60 s average is over 2 %
    assert metrics["queue"] == 3 and metrics["mem_mb"] == 12.5


def test_average_window_slides_past_60_seconds() -> None:
    t = Ticker()
    m = meter(t)
    t.spend(30, 3.0)  # 10 % for 30 s
    m.sample()
    for _ in range(5):
        t.spend(30, 0.0)
        m.sample()
    assert m.avg_60s_percent == pytest.approx(0.0)
    assert m.metrics()["cpu_budget_ok"] is True


def test_metric_keys_and_real_rss() -> None:
    m = meter(Ticker())
    metrics = m.metrics()
    assert tuple(metrics) == HEARTBEAT_METRIC_KEYS
    assert 1.0 < rss_mb() < 4096.0
