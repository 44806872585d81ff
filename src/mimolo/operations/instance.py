"""One configured agent instance at run time: its counters, health and message handling.

The supervisor owns the lifecycle (spawn, handshake, stop, restart); this module turns each
line an agent prints into evidence, diagnostics or state, with rate limits and counted drops.
Summaries are evidence: they bypass the chatter limit and have their own generous bucket;
any summary dropped is counted per instance and reported loudly in diagnostics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mimolo.agents.catalog import AgentTemplate
from mimolo.operations.agent_process import AgentProcess
from mimolo.operations.agent_state import AgentState, RunState
from mimolo.operations.backoff import RestartTracker
from mimolo.operations.budget import Classification, Measurement, classify, over_budget
from mimolo.operations.config_schema import InstanceConfig, Settings
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.ledger import Ledger
from mimolo.operations.ratelimit import TokenBucket
from mimolo.protocol.codec import LineRejected, decode_message
from mimolo.protocol.messages import (
    AckMessage,
    AgentMessage,
    ErrorMessage,
    HandshakeMessage,
    HeartbeatMessage,
    LogMessage,
    StatusMessage,
    SummaryMessage,
    WidgetFrameMessage,
)

log = logging.getLogger(__name__)

_SAMPLE_BYTES = 200
_DROP_REPORT_EVERY_S = 5.0


def _mono() -> float:
    return time.monotonic()


class InstanceRuntime:
    """Mutable run-time record of one instance (owned by the supervisor's event loop)."""

    def __init__(
        self,
        instance_id: str,
        config: InstanceConfig,
        template: AgentTemplate,
        settings: Settings,
        *,
        tracker: RestartTracker,
        on_change: Callable[[InstanceRuntime, str], None],
    ) -> None:
        self.instance_id = instance_id
        self.config = config
        self.template = template
        self.settings = settings
        self.tracker = tracker
        self._on_change = on_change
        self.state: RunState = "stopped"
        self.task: asyncio.Task[None] | None = None
        self.proc: AgentProcess | None = None
        # command + environment the current process was started with (config changes
        # that alter it need a restart to take effect)
        self.spawned_signature: str | None = None
        self.stop_requested = asyncio.Event()
        self.hang_detected = asyncio.Event()
        self.changed = asyncio.Event()
        self.handshake: asyncio.Future[HandshakeMessage] | None = None
        self.ack_waiters: dict[str, list[asyncio.Future[AckMessage]]] = {}
        self.request_waiters: dict[str, asyncio.Future[AgentMessage]] = {}
        self.budget_percent = settings.cpu_default_budget_percent
        self.restarts = 0
        self.summaries = 0
        self.drop_counts: Counter[str] = Counter()
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
        self._reset_buckets()
        self._unreported_summary_drops = 0
        self._last_drop_report = 0.0

    # ---- derived settings -----------------------------------------------------------

    @property
    def heartbeat_interval_s(self) -> float:
        return self.config.heartbeat_interval_s or self.settings.heartbeat_interval_s

    @property
    def flush_interval_s(self) -> float:
        return self.config.flush_interval_s or self.settings.agent_flush_interval_s

    def _reset_buckets(self) -> None:
        now = _mono()
        s = self.settings
        self.chatter = TokenBucket(s.rate_limit_per_s, s.rate_limit_burst, now=now)
        self.summary_bucket = TokenBucket(
            s.summary_rate_limit_per_s, s.summary_rate_limit_burst, now=now
        )

    # ---- state ----------------------------------------------------------------------

    def set_state(self, state: RunState, detail: str = "") -> None:
        """Change the run state, wake waiters and tell the supervisor's listener."""
        if state == self.state and not detail:
            return
        old, self.state = self.state, state
        self.changed.set()
        self.changed = asyncio.Event()
        if old != state:
            self._on_change(self, detail)

    def begin_run(self, proc: AgentProcess) -> None:
        """A new process was spawned: reset per-run fields."""
        loop = asyncio.get_running_loop()
        self.proc = proc
        self.pid = proc.pid
        self.started_mono = _mono()
        self.started_wall = datetime.now(UTC)
        self.last_output_mono = self.started_mono
        self.last_heartbeat_mono = None
        self.last_heartbeat_wall = None
        self.agent_health = None
        self.health_message = None
        self.metrics = {}
        self.cpu_percent = None
        self.rss_mb = None
        self.over_budget_samples = 0
        self.next_flush_mono = None
        self.next_restart_wall = None
        self.hang_detected = asyncio.Event()
        self.handshake = loop.create_future()
        self._reset_buckets()

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
        now = _mono()
        health = self.classify(now)
        running = self.state in ("running", "starting", "stopping")
        return AgentState(
            instance_id=self.instance_id,
            plugin_id=self.template.plugin_id,
            label=self.config.label,
            enabled=self.config.enabled,
            state=self.state,
            health=health,
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
            drops=sum(self.drop_counts.values()),
            drop_counts=dict(self.drop_counts),
            rejected_lines=dict(self.rejected_lines),
            summaries=self.summaries,
            last_error=self.last_error,
            agent_version=self.agent_version,
            protocol_version=self.protocol_version,
            next_restart_at=self.next_restart_wall if self.state == "backoff" else None,
            client_id=self.config.client_id,
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
        self.next_restart_wall = datetime.now(UTC) + timedelta(seconds=delay_s)


class AgentMessageHook(Protocol):
    """Where widget traffic goes (the IPC engineer's ``WidgetBridge`` fits this)."""

    def note_manifest(self, instance_id: str, manifest: object) -> None: ...
    def deliver(self, instance_id: str, message: AgentMessage) -> bool: ...
    def forget(self, instance_id: str) -> None: ...


class MessageRouter:
    """Turns agent lines into ledger records, diagnostics and instance state."""

    def __init__(self, ledger: Ledger, diagnostics: Diagnostics) -> None:
        self.ledger = ledger
        self.diagnostics = diagnostics
        self.hook: AgentMessageHook | None = None

    def on_line(self, rt: InstanceRuntime, line: bytes) -> None:
        """One complete stdout line (newline stripped)."""
        now = _mono()
        rt.last_output_mono = now
        rt.last_output_wall = datetime.now(UTC)
        try:
            message = decode_message(line, max_bytes=rt.settings.max_line_bytes)
        except LineRejected as exc:
            self._rejected(rt, exc, line, now)
            return
        handshake = rt.handshake
        if handshake is not None and not handshake.done():
            if isinstance(message, HandshakeMessage):
                handshake.set_result(message)
                if self.hook is not None:
                    self.hook.note_manifest(rt.instance_id, message.data.get("widget_manifest"))
            else:
                handshake.set_exception(
                    LineRejected(
                        "invalid_value",
                        f"first message was {message.__struct_config__.tag!r}, not handshake",
                    )
                )
            return
        if isinstance(message, SummaryMessage):
            self._summary(rt, line, now)
        elif isinstance(message, HeartbeatMessage):
            rt.last_heartbeat_mono = now
            rt.last_heartbeat_wall = rt.last_output_wall
            metrics = message.metrics if isinstance(message.metrics, dict) else {}
            rt.metrics = metrics
            if isinstance(message.health, str):
                rt.agent_health = message.health
            self._chatter(rt, now, "heartbeat", metrics=metrics)
        elif isinstance(message, StatusMessage):
            if isinstance(message.health, str):
                rt.agent_health = message.health
            rt.health_message = message.message if isinstance(message.message, str) else None
            self._chatter(rt, now, "status", health=rt.agent_health, message=rt.health_message)
        elif isinstance(message, ErrorMessage):
            rt.last_error = message.message
            self._resolve_request(rt, message)
            severity = message.severity if isinstance(message.severity, str) else "error"
            self._chatter(
                rt,
                now,
                "error",
                level="error",
                message=message.message,
                severity=severity,
                data=message.data,
            )
        elif isinstance(message, LogMessage):
            extra = message.extra if isinstance(message.extra, dict) else {}
            self._chatter(rt, now, "log", level=message.level, message=message.message, extra=extra)
        elif isinstance(message, AckMessage):
            if self.hook is not None and message.ack_command.startswith("widget"):
                self.hook.deliver(rt.instance_id, message)
            for fut in rt.ack_waiters.pop(message.ack_command, []):
                if not fut.done():
                    fut.set_result(message)
            self.diagnostics.record(
                "ack", instance_id=rt.instance_id, ack_command=message.ack_command
            )
        elif isinstance(message, WidgetFrameMessage):
            self._resolve_request(rt, message)
        elif isinstance(message, HandshakeMessage):
            self._chatter(rt, now, "unexpected_handshake", level="warning")
        rt.changed.set()

    def _summary(self, rt: InstanceRuntime, line: bytes, now: float) -> None:
        if not rt.summary_bucket.allow(now):
            rt.drop_counts["summary"] += 1
            rt._unreported_summary_drops += 1
            if now - rt._last_drop_report >= _DROP_REPORT_EVERY_S:
                self.report_summary_drops(rt, now)
            return
        self.ledger.append(
            plugin_id=rt.template.plugin_id,
            instance_id=rt.instance_id,
            instance_label=rt.config.label,
            raw_summary=line,
            received_at=rt.last_output_wall,
        )
        rt.summaries += 1

    def report_summary_drops(self, rt: InstanceRuntime, now: float) -> None:
        """Summaries are evidence: every drop is reported (aggregated, at most every 5 s)."""
        if not rt._unreported_summary_drops:
            return
        count, rt._unreported_summary_drops = rt._unreported_summary_drops, 0
        rt._last_drop_report = now
        log.error("%s: dropped %d summaries over the summary rate limit", rt.instance_id, count)
        self.diagnostics.record(
            "drops",
            instance_id=rt.instance_id,
            level="error",
            what="summary",
            count=count,
            total=rt.drop_counts["summary"],
            reason="summary rate limit exceeded",
        )

    def _chatter(self, rt: InstanceRuntime, now: float, kind: str, **fields: Any) -> None:
        if rt.chatter.allow(now):
            self.diagnostics.record(kind, instance_id=rt.instance_id, **fields)
        else:
            rt.drop_counts[kind] += 1

    def _rejected(self, rt: InstanceRuntime, exc: LineRejected, line: bytes, now: float) -> None:
        rt.rejected_lines[exc.reason] += 1
        kind = "unknown_message" if exc.reason == "unknown_type" else "rejected_line"
        self._chatter(
            rt,
            now,
            kind,
            level="warning",
            reason=exc.reason,
            field=exc.field,
            detail=exc.detail[:500],
            sample=repr(line[:_SAMPLE_BYTES]),
            bytes=len(line),
        )

    def on_oversized(self, rt: InstanceRuntime, size: int) -> None:
        """A line over the cap was discarded up to its newline."""
        now = _mono()
        rt.last_output_mono = now
        rt.rejected_lines["oversized"] += 1
        self._chatter(rt, now, "rejected_line", level="warning", reason="oversized", bytes=size)

    def on_stderr(self, rt: InstanceRuntime, text: str) -> None:
        """stderr is captured into diagnostics, never parsed."""
        now = _mono()
        rt.last_output_mono = now
        self._chatter(rt, now, "stderr", line=text)

    def _resolve_request(
        self, rt: InstanceRuntime, message: ErrorMessage | WidgetFrameMessage
    ) -> None:
        if self.hook is not None:
            self.hook.deliver(rt.instance_id, message)
        if isinstance(message, WidgetFrameMessage):
            request_id: object = message.data.request_id
        else:
            request_id = message.data.get("request_id")
        if isinstance(request_id, str):
            fut = rt.request_waiters.pop(request_id, None)
            if fut is not None and not fut.done():
                fut.set_result(message)


__all__ = ["AgentMessageHook", "InstanceRuntime", "MessageRouter"]
