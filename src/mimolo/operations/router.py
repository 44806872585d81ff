"""Turns each line an agent prints into evidence, diagnostics or instance state.

The line boundary catches everything: a line that cannot become a message for any reason
(``LineRejected``, ``RecursionError`` from absurd nesting, ``MemoryError``) is a counted
rejection, never a dead runner. Every message is budgeted (``backpressure``); what is
dropped is counted and reported by a ``drops`` record that is itself never dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Protocol

from mimolo.errors import LineRejected
from mimolo.operations.clock import Clock
from mimolo.operations.diagnostics import Diagnostics, Level
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.ledger import Ledger
from mimolo.operations.state_bounds import bound_message, bound_metrics
from mimolo.protocol.codec import decode_message
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


class AgentMessageHook(Protocol):
    """Where widget traffic goes (the ``WidgetBridge`` fits this)."""

    def note_manifest(self, instance_id: str, manifest: object) -> None: ...
    def deliver(self, instance_id: str, message: AgentMessage) -> bool: ...
    def forget(self, instance_id: str) -> None: ...


class MessageRouter:
    """Routes agent lines; one per supervisor."""

    def __init__(self, ledger: Ledger, diagnostics: Diagnostics, clock: Clock) -> None:
        self.ledger = ledger
        self.diagnostics = diagnostics
        self.clock = clock
        self.hook: AgentMessageHook | None = None

    # ---- the boundary -----------------------------------------------------------------

    def on_line(self, rt: InstanceRuntime, line: bytes) -> None:
        """One complete stdout line (newline stripped). Never raises."""
        now = self.clock.monotonic()
        rt.last_output_mono = now
        rt.last_output_wall = self.clock.now()
        try:
            message = decode_message(line, max_bytes=rt.settings.max_line_bytes)
        except LineRejected as exc:
            self._rejected(rt, exc.reason, exc.field, exc.detail, line, now)
            return
        except Exception as exc:  # RecursionError, MemoryError, ...: still just a bad line
            self._rejected(rt, "undecodable", None, f"{type(exc).__name__}: {exc}", line, now)
            return
        try:
            self._route(rt, message, line, now)
        except Exception as exc:
            log.warning("%s: could not handle a %s line", rt.instance_id, type(message).__name__)
            self._rejected(rt, "unhandled", None, f"{type(exc).__name__}: {exc}", line, now)

    def on_output(self, rt: InstanceRuntime) -> None:
        """Some output arrived (complete lines or not): the agent is not hung."""
        rt.last_output_mono = self.clock.monotonic()

    def on_oversized(self, rt: InstanceRuntime, size: int) -> None:
        """A line over the cap was discarded up to its newline."""
        now = self.clock.monotonic()
        rt.last_output_mono = now
        rt.rejected_lines["oversized"] += 1
        self._chatter(rt, now, "rejected_line", level="warning", reason="oversized", bytes=size)

    def on_stderr(self, rt: InstanceRuntime, text: str) -> None:
        """stderr is captured into diagnostics, never parsed."""
        now = self.clock.monotonic()
        rt.last_output_mono = now
        self._chatter(rt, now, "stderr", line=text)

    # ---- by type ----------------------------------------------------------------------

    def _route(self, rt: InstanceRuntime, message: AgentMessage, line: bytes, now: float) -> None:
        handshake = rt.handshake
        if handshake is not None and not handshake.done():
            self._first(rt, message)
            return
        if isinstance(message, SummaryMessage):
            self._summary(rt, line, now)
        elif isinstance(message, HeartbeatMessage):
            rt.last_heartbeat_mono = now
            rt.last_heartbeat_wall = rt.last_output_wall
            metrics = message.metrics if isinstance(message.metrics, dict) else {}
            rt.metrics = bound_metrics(metrics)
            if isinstance(message.health, str):
                rt.agent_health = message.health[:32]
            self._chatter(rt, now, "heartbeat", metrics=rt.metrics)
        elif isinstance(message, StatusMessage):
            if isinstance(message.health, str):
                rt.agent_health = message.health[:32]
            rt.health_message = bound_message(message.message)
            self._chatter(rt, now, "status", health=rt.agent_health, message=rt.health_message)
        elif isinstance(message, ErrorMessage):
            rt.last_error = bound_message(message.message)
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
            self._ack(rt, message, now)
        elif isinstance(message, WidgetFrameMessage):
            if not self._resolve_request(rt, message):
                # nobody asked for it (late, or unsolicited): recorded or counted, not used
                self._chatter(
                    rt,
                    now,
                    "widget_frame",
                    level="warning",
                    unsolicited=True,
                    request_id=str(message.data.request_id)[:64],
                )
        elif isinstance(message, HandshakeMessage):
            self._chatter(rt, now, "unexpected_handshake", level="warning")

    def _first(self, rt: InstanceRuntime, message: AgentMessage) -> None:
        handshake = rt.handshake
        assert handshake is not None
        if not isinstance(message, HandshakeMessage):
            handshake.set_exception(
                LineRejected(
                    "invalid_value",
                    f"first message was {message.__struct_config__.tag!r}, not handshake",
                )
            )
            return
        handshake.set_result(message)
        if message.agent_id != rt.instance_id:
            self.diagnostics.record(
                "lifecycle",
                instance_id=rt.instance_id,
                level="warning",
                event="claimed_id_differs",
                claimed=message.agent_id[:200],
            )
        if self.hook is not None:
            self.hook.note_manifest(rt.instance_id, message.data.get("widget_manifest"))

    def _summary(self, rt: InstanceRuntime, line: bytes, now: float) -> None:
        if not rt.budget.admit_summary(len(line), now):
            return
        self.ledger.append(
            plugin_id=rt.template.plugin_id,
            instance_id=rt.instance_id,
            instance_label=rt.config.instance_label,
            raw_summary=line,
            received_at=rt.last_output_wall,
        )
        rt.summaries += 1

    def _ack(self, rt: InstanceRuntime, message: AckMessage, now: float) -> None:
        waiters = rt.ack_waiters.pop(message.ack_command, [])
        solicited = any(not fut.done() for fut in waiters)
        for fut in waiters:
            if not fut.done():
                fut.set_result(message)
        if message.ack_command.startswith("widget") and self._deliver(rt, message):
            solicited = True
        if not solicited and not rt.budget.admit("ack", now):
            return
        self.diagnostics.record(
            "ack", instance_id=rt.instance_id, ack_command=message.ack_command[:64]
        )

    def _resolve_request(
        self, rt: InstanceRuntime, message: ErrorMessage | WidgetFrameMessage
    ) -> bool:
        """Answer a waiting request; True if the message was one Operations asked for."""
        solicited = self._deliver(rt, message)
        if isinstance(message, WidgetFrameMessage):
            request_id: object = message.data.request_id
        else:
            request_id = message.data.get("request_id")
        if not isinstance(request_id, str):
            return solicited
        fut = rt.request_waiters.pop(request_id, None)
        if fut is None or fut.done():
            return solicited
        fut.set_result(message)
        return True

    def _deliver(self, rt: InstanceRuntime, message: AgentMessage) -> bool:
        """Offer a widget message to the bridge; True if a request of its was waiting."""
        return self.hook is not None and self.hook.deliver(rt.instance_id, message)

    # ---- budget and counts ------------------------------------------------------------

    def _chatter(self, rt: InstanceRuntime, now: float, kind: str, **fields: Any) -> None:
        if rt.budget.admit(kind, now):
            self.diagnostics.record(kind, instance_id=rt.instance_id, **fields)

    def _rejected(
        self,
        rt: InstanceRuntime,
        reason: str,
        field: str | None,
        detail: str,
        line: bytes,
        now: float,
    ) -> None:
        rt.rejected_lines[reason] += 1
        kind = "unknown_message" if reason == "unknown_type" else "rejected_line"
        self._chatter(
            rt,
            now,
            kind,
            level="warning",
            reason=reason,
            field=field,
            detail=detail[:500],
            sample=repr(line[:_SAMPLE_BYTES]),
            bytes=len(line),
        )

    def report_drops(self, rt: InstanceRuntime, *, final: bool = False) -> None:
        """Report drops not yet reported (every 5 s at most, or all of them at a stop)."""
        now = self.clock.monotonic()
        counts = rt.budget.take_all(now) if final else rt.budget.take_report(now)
        if counts:
            self._record_drops(rt, counts)

    def _record_drops(self, rt: InstanceRuntime, counts: Counter[str]) -> None:
        evidence = counts["summary"] + counts["summary_bytes"]
        level: Level = "error" if evidence else "warning"
        if evidence:
            log.error("%s: dropped %d summaries over the evidence limits", rt.instance_id, evidence)
        self.diagnostics.record(
            "drops",
            instance_id=rt.instance_id,
            level=level,
            essential=True,
            counts=dict(counts),
            count=sum(counts.values()),
            totals=dict(rt.budget.drops),
            total=rt.budget.total,
            reason="rate limit exceeded",
        )


__all__ = ["AgentMessageHook", "MessageRouter"]
