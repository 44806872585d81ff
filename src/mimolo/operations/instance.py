"""One configured agent instance at run time: its state, counters, waiters and health.

Owned by the supervisor's event loop. The runner drives the lifecycle, the router turns
lines into evidence and state, the watchdog reads the clock against it; this module only
holds the record and derives its public view. Every state change notifies ``changed``, a
``ChangeSignal`` that cannot spin.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mimolo.operations.agent_process import AgentProcess
from mimolo.operations.agent_state import AgentState, RunState
from mimolo.operations.backoff import RestartTracker
from mimolo.operations.backpressure import AgentBudget
from mimolo.operations.budget import Classification, Measurement, classify, over_budget
from mimolo.operations.change_signal import ChangeSignal
from mimolo.operations.clock import Clock
from mimolo.protocol.config_schema import InstanceConfig, Settings
from mimolo.protocol.messages import AckMessage, AgentMessage, HandshakeMessage
from mimolo.protocol.templates import AgentTemplate

SETTLED_STATES: frozenset[str] = frozenset(
    {"running", "stopped", "backoff", "quarantined", "rejected", "failed", "untrusted"}
)


class InstanceRuntime:
    """Mutable run-time record of one instance."""

    def __init__(
        self,
        instance_id: str,
        config: InstanceConfig,
        template: AgentTemplate,
        settings: Settings,
        *,
        tracker: RestartTracker,
        clock: Clock,
        on_change: Callable[[InstanceRuntime, str], None],
    ) -> None:
        self.instance_id = instance_id
        self.config = config
        self.template = template
        self.settings = settings
        self.tracker = tracker
        self.clock = clock
        self._on_change = on_change
        self.state: RunState = "stopped"
        self.changed = ChangeSignal()
        self.lifecycle = asyncio.Lock()  # one start/stop/restart at a time per instance
        self.task: asyncio.Task[None] | None = None
        self.proc: AgentProcess | None = None
        # command + environment the current process was started with (config changes
        # that alter it need a restart to take effect)
        self.spawned_signature: str | None = None
        self.stop_requested = asyncio.Event()
        self.hang_detected = asyncio.Event()
        self.handshake: asyncio.Future[HandshakeMessage] | None = None
        self.ack_waiters: dict[str, list[asyncio.Future[AckMessage]]] = {}
        self.request_waiters: dict[str, asyncio.Future[AgentMessage]] = {}
        self.budget_percent = settings.cpu_default_budget_percent
        self.restarts = 0
        self.summaries = 0
        self.budget = AgentBudget(settings, now=clock.monotonic())
        self.rejected_lines: Counter[str] = Counter()
        self.last_error: str | None = None
        self.agent_health: str | None = None
        self.health_message: str | None = None
        self.agent_version: str | None = None
        self.protocol_version: str | None = None
        self.metrics: dict[str, Any] = {}
        self.pid: int | None = None
        self.started_wall: datetime | None = None
        self.started_mono: float | None = None
        self.last_output_mono: float | None = None
        self.last_output_wall: datetime | None = None
        self.last_heartbeat_mono: float | None = None
        self.last_heartbeat_wall: datetime | None = None
        self.next_flush_mono: float | None = None
        self.next_restart_wall: datetime | None = None
        self.cpu_percent: float | None = None
        self.rss_mb: float | None = None
        self.over_budget_samples = 0
        self.last_health: Classification | None = None
        self.discarding_output = False  # the last chunk read went into an oversized line

    # ---- derived settings -----------------------------------------------------------

    @property
    def heartbeat_interval_s(self) -> float:
        return self.config.heartbeat_interval_s or self.settings.heartbeat_interval_s

    @property
    def flush_interval_s(self) -> float:
        return self.config.flush_interval_s or self.settings.agent_flush_interval_s

    @property
    def runner_active(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def settle_timeout_s(self) -> float:
        """How long a start or stop may take before a caller stops waiting for it."""
        return self.settings.start_timeout_s + self.settings.stop_grace_s * 2 + 10

    # ---- state ----------------------------------------------------------------------

    def set_state(self, state: RunState, detail: str = "") -> None:
        """Change the run state, wake waiters and tell the supervisor's listener."""
        if state == self.state and not detail:
            return
        old, self.state = self.state, state
        self.changed.notify()
        if old != state:
            self._on_change(self, detail)

    async def wait_settled(self) -> bool:
        """Until the state is settled (not starting/stopping); False at the deadline."""
        return await self.changed.wait_for(
            lambda: self.state in SETTLED_STATES, self.settle_timeout_s
        )

    def begin_run(self, proc: AgentProcess) -> None:
        """A new process was spawned: reset per-run fields."""
        now = self.clock.monotonic()
        self.proc = proc
        self.pid = proc.pid
        self.started_mono = now
        self.started_wall = self.clock.now()
        self.last_output_mono = now
        self.last_heartbeat_mono = None
        self.last_heartbeat_wall = None
        self.agent_health = None
        self.health_message = None
        self.metrics = {}
        self.cpu_percent = None
        self.rss_mb = None
        self.over_budget_samples = 0
        self.last_health = None
        self.discarding_output = False
        self.next_flush_mono = None
        self.next_restart_wall = None
        self.hang_detected = asyncio.Event()
        self.handshake = asyncio.get_running_loop().create_future()
        self.budget.reset(self.settings, now=now)

    def end_run(self) -> None:
        """The process is gone: fail anything still waiting on it."""
        self.proc = None
        self.pid = None
        if self.handshake is not None and not self.handshake.done():
            self.handshake.cancel()
        for waiters in self.ack_waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.cancel()
        self.ack_waiters.clear()
        for pending in self.request_waiters.values():
            if not pending.done():
                pending.cancel()
        self.request_waiters.clear()

    def classify(self, now: float) -> Classification:
        """healthy / degraded / over_budget / quarantined (unknown while not running)."""
        if self.state == "quarantined":
            return "quarantined"
        if self.state != "running":
            return "unknown"
        if self.last_heartbeat_mono is not None:
            hb_age: float | None = now - self.last_heartbeat_mono
        elif (
            self.started_mono is not None
            and now - self.started_mono > 2 * self.heartbeat_interval_s
        ):
            hb_age = now - self.started_mono  # never heard a heartbeat: silent too long
        else:
            hb_age = None
        return classify(
            Measurement(
                cpu_percent=self.cpu_percent,
                budget_percent=self.budget_percent,
                heartbeat_age_s=hb_age,
                heartbeat_interval_s=self.heartbeat_interval_s,
                agent_health=self.agent_health,
                over_budget_samples=self.over_budget_samples,
            )
        )

    def snapshot(self) -> AgentState:
        """The public view of this instance."""
        now = self.clock.monotonic()
        running = self.state in ("running", "starting", "stopping")
        return AgentState(
            instance_id=self.instance_id,
            plugin_id=self.template.plugin_id,
            instance_label=self.config.instance_label,
            enabled=self.config.enabled,
            state=self.state,
            health=self.classify(now),
            agent_health=self.agent_health,
            health_message=self.health_message,
            pid=self.pid,
            started_at=self.started_wall if running else None,
            uptime_s=round(now - self.started_mono, 3)
            if running and self.started_mono is not None
            else None,
            last_heartbeat_at=self.last_heartbeat_wall,
            last_output_at=self.last_output_wall,
            metrics=dict(self.metrics),
            cpu_percent=self.cpu_percent,
            rss_mb=self.rss_mb,
            cpu_budget_percent=self.budget_percent,
            restarts=self.restarts,
            drops=self.budget.total,
            drop_counts=dict(self.budget.drops),
            rejected_lines=dict(self.rejected_lines),
            summaries=self.summaries,
            last_error=self.last_error,
            agent_version=self.agent_version,
            protocol_version=self.protocol_version,
            next_restart_at=self.next_restart_wall if self.state == "backoff" else None,
            client_id=self.config.client_id,
            verified=self.template.verified,
        )

    def record_resources(self, cpu_percent: float | None, rss_mb: float | None) -> bool:
        """Store one psutil sample; True when the over-budget classification just changed."""
        self.cpu_percent = cpu_percent
        self.rss_mb = rss_mb
        was = self.over_budget_samples >= 3
        if over_budget(cpu_percent, self.budget_percent):
            self.over_budget_samples += 1
        else:
            self.over_budget_samples = 0
        return was != (self.over_budget_samples >= 3)

    def schedule_restart(self, delay_s: float) -> None:
        self.next_restart_wall = self.clock.now() + timedelta(seconds=delay_s)


__all__ = ["SETTLED_STATES", "InstanceRuntime"]
