"""The supervisor's periodic duties: hang detection, scheduled flushes, health transitions,
drop reports and resource sampling. One ``Watchdog.tick`` per ``tick_s``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.resources import Sampler
from mimolo.operations.router import MessageRouter
from mimolo.protocol.commands import FlushCommand

log = logging.getLogger(__name__)


class Watchdog:
    """Checks every running instance against the clock."""

    def __init__(
        self,
        diagnostics: Diagnostics,
        router: MessageRouter,
        sampler: Sampler,
        *,
        sample_interval_s: Callable[[], float],
        on_health: Callable[[InstanceRuntime, str], None],
    ) -> None:
        self.diagnostics = diagnostics
        self.router = router
        self.sampler = sampler
        self._sample_interval_s = sample_interval_s
        self._on_health = on_health
        self._next_sample: float | None = None

    def tick(self, runtimes: Iterable[InstanceRuntime], now: float) -> None:
        items = list(runtimes)
        for rt in items:
            if rt.state == "running" and rt.proc is not None:
                self._check(rt, now)
            self.router.report_drops(rt)
        if self._next_sample is None:
            self._next_sample = now + self._sample_interval_s()
        elif now >= self._next_sample:
            self._next_sample = now + self._sample_interval_s()
            for rt in items:
                self._sample(rt)

    def _check(self, rt: InstanceRuntime, now: float) -> None:
        proc = rt.proc
        assert proc is not None
        if (
            rt.last_output_mono is not None
            and now - rt.last_output_mono > rt.settings.hang_timeout_s
        ):
            rt.hang_detected.set()
        if rt.next_flush_mono is not None and now >= rt.next_flush_mono:
            rt.next_flush_mono = now + rt.flush_interval_s
            if not proc.send_nowait(FlushCommand()):
                rt.budget.drop("flush_command")
        health = rt.classify(now)
        previous = rt.last_health
        if health == previous:
            return
        rt.last_health = health
        if previous is None and health == "healthy":
            return
        self.diagnostics.record(
            "policy",
            instance_id=rt.instance_id,
            level="info" if health == "healthy" else "warning",
            decision="health",
            health=health,
            previous=previous or "unknown",
        )
        self._on_health(rt, f"health {health}")

    def _sample(self, rt: InstanceRuntime) -> None:
        pid = rt.pid
        if pid is None or rt.state != "running":
            self.sampler.forget(rt.instance_id)
            return
        reading = self.sampler.sample(rt.instance_id, pid)
        if reading is None:
            return
        cpu, rss = reading
        if cpu is None:
            rt.rss_mb = rss
            return
        if rt.record_resources(cpu, rss):
            hot = rt.over_budget_samples >= 3
            self.diagnostics.record(
                "policy",
                instance_id=rt.instance_id,
                level="warning" if hot else "info",
                decision="over_budget" if hot else "back_within_budget",
                cpu_percent=cpu,
                budget_percent=rt.budget_percent,
            )


__all__ = ["Watchdog"]
