"""BaseAgent: the Python SDK that makes an Agent JLP agent a few dozen lines.

Subclass it, declare ``plugin_id``, ``agent_version``, ``params``, ``sample_interval_s``,
implement ``accumulate`` / ``snapshot`` / ``summarize``, and call ``MyAgent.main()`` from
the package's ``__main__``. The SDK does the handshake, heartbeats with self-measured
metrics, every command of DESIGN §3, widgets, logging and a clean exit.

Threads: one stdin reader feeds an inbox; one main loop blocks on it until the next
deadline (sample tick or heartbeat), so an idle agent costs next to nothing.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import traceback
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Final, NoReturn

from msgspec import UNSET

from mimolo import PROTOCOL_VERSION
from mimolo.errors import ConfigError, LineRejected, WidgetError
from mimolo.protocol import agent_env as env
from mimolo.protocol.codec import decode_command, encode_message
from mimolo.protocol.commands import (
    AckCommand,
    AgentCommand,
    FlushCommand,
    RejectCommand,
    SequenceCommand,
    ShutdownCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    WidgetActionCommand,
    WidgetRenderCommand,
)
from mimolo.protocol.messages import (
    AckMessage,
    ActivityMode,
    AgentMessage,
    ErrorMessage,
    HandshakeMessage,
    Health,
    HeartbeatMessage,
    LogLevel,
    LogMessage,
    StatusMessage,
    SummaryMessage,
    WidgetFrameData,
    WidgetFrameMessage,
)
from mimolo.protocol.params import Param
from mimolo.sdk.agent_cli import parse_agent_argv, resolve_config
from mimolo.sdk.clock import Clock, SystemClock, iso
from mimolo.sdk.metrics import DEFAULT_CPU_BUDGET_PERCENT, CpuMeter
from mimolo.sdk.params import load_agent_params
from mimolo.sdk.stdio import MAX_COMMAND_BYTES, LineReader, ProtocolWriter, take_over_stdout
from mimolo.sdk.widgets import WIDGET_NOT_SUPPORTED, WidgetRequest, default_manifest

DEFAULT_HEARTBEAT_INTERVAL_S: Final = 15.0
_MIN_INTERVAL_S: Final = 0.05
_HOOK_ERROR_EVERY_S: Final = 60.0
_INBOX_LINES: Final = 256

_LEVELS: Final[dict[int, LogLevel]] = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
}


def activity_signal(
    mode: ActivityMode, keep_alive: bool | None = None, reason: str | None = None
) -> dict[str, Any]:
    """``data.activity_signal`` of a summary: the only input to work-time derivation."""
    return {"mode": mode, "keep_alive": keep_alive, "reason": reason}


def _env_float(name: str, default: float) -> float:
    """A positive float from the environment, or ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"must be a number, got {raw!r}", field=name) from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"must be a positive number, got {raw!r}", field=name)
    return value


class ProtocolLogHandler(logging.Handler):
    """Forwards ``logging`` records as protocol ``log`` messages."""

    def __init__(self, agent: BaseAgent, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._agent = agent
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        """Forward one record, never recursing into itself."""
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            level = _LEVELS.get(record.levelno, "error" if record.levelno > 40 else "debug")
            self._agent.log(level, record.getMessage(), logger=record.name)
        finally:
            self._busy.on = False


class BaseAgent:
    """Subclass this; override the hooks you need. Helpers are safe from any thread."""

    plugin_id: ClassVar[str] = "agent"
    agent_version: ClassVar[str] = "0.1.0"
    min_app_version: ClassVar[str] = "0.1.0"
    params: ClassVar[tuple[Param, ...]] = ()
    sample_interval_s: ClassVar[float | None] = 1.0
    capabilities: ClassVar[tuple[str, ...]] = ()
    widget_ttl_ms: ClassVar[int] = 5000

    def __init__(self, config: dict[str, Any] | None = None, *, clock: Clock | None = None):
        cls = type(self)
        self.config: dict[str, Any] = (
            dict(config) if config is not None else load_agent_params(cls.params)
        )
        self.clock: Clock = clock or SystemClock()
        self.agent_id = (
            os.environ.get(env.AGENT_ID) or os.environ.get(env.INSTANCE_ID) or cls.plugin_id
        )
        self.agent_label = os.environ.get(env.AGENT_LABEL) or self.agent_id
        instance_dir = os.environ.get(env.INSTANCE_DIR)
        self.instance_dir: Path | None = Path(instance_dir) if instance_dir else None
        self.heartbeat_interval_s = max(
            _MIN_INTERVAL_S, _env_float(env.HEARTBEAT_INTERVAL_S, DEFAULT_HEARTBEAT_INTERVAL_S)
        )
        self.cpu = CpuMeter(
            self.clock.monotonic,
            budget_percent=_env_float(env.CPU_BUDGET_PERCENT, DEFAULT_CPU_BUDGET_PERCENT),
        )
        self.sampling = True
        self.exiting = False
        self.exit_code = 0
        self._writer: ProtocolWriter | None = None
        self._inbox: queue.SimpleQueue[tuple[str, bytes | None]] = queue.SimpleQueue()
        self._line_slots = threading.BoundedSemaphore(_INBOX_LINES)
        self._hook_lock = threading.RLock()
        self._health: Health = "ok"
        self._health_message = ""
        self._pending = False
        self._window_start = self.clock.now()
        self._next_sample: float | None = None
        self._next_heartbeat = 0.0
        self._last_hook_error = -_HOOK_ERROR_EVERY_S
        self.sent: list[AgentMessage] | None = None  # set to [] to record (testing)

    # ---- hooks for subclasses -------------------------------------------------------

    def on_start(self) -> None:
        """Called once after the handshake, before the first sample."""

    def accumulate(self, now: datetime) -> None:
        """Called every ``sample_interval_s`` while sampling: observe and aggregate."""

    def snapshot(self, now: datetime) -> Any:
        """Take the aggregated state and reset it (called at each flush)."""
        return None

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        """Turn a snapshot into summary ``data``; include an ``activity_signal``."""
        return {}

    def on_stop_sampling(self) -> None:
        """Sampling paused by a ``stop`` command."""

    def on_resume_sampling(self) -> None:
        """Sampling resumed by a ``start`` command."""

    def on_shutdown(self) -> None:
        """Release resources; called once before the process exits."""

    def extra_metrics(self) -> dict[str, Any]:
        """Agent-specific heartbeat metrics, merged over the standard ones."""
        return {}

    def render_widget(self, request: WidgetRequest) -> str | None:
        """An HTML fragment for Control's widget canvas; None means widgets unsupported."""
        return None

    def widget_manifest(self) -> dict[str, Any] | None:
        """What the widget supports; by default derived from ``render_widget`` existing."""
        if type(self).render_widget is BaseAgent.render_widget:
            return None
        return default_manifest()

    def handle_widget_action(self, action: str, args: dict[str, Any]) -> None:
        """A widget button was pressed. ``refresh`` needs nothing here (the SDK flushes)."""
        if action != "refresh":
            raise WidgetError(f"unsupported widget action {action!r}", code="unsupported_action")

    # ---- helpers (thread-safe) ------------------------------------------------------

    def log(self, level: LogLevel, message: str, **extra: Any) -> None:
        """Send a ``log`` message to Operations (goes to diagnostics)."""
        self._emit(
            LogMessage(**self._envelope(), level=level, message=message, extra=extra or UNSET)
        )

    def report_error(self, message: str, severity: str = "error", **data: Any) -> None:
        """Send an ``error`` message (diagnostics; shown on the agent's card)."""
        self._emit(ErrorMessage(**self._envelope(), message=message, severity=severity, data=data))

    def set_health(self, health: Health, message: str = "") -> None:
        """Change the agent's self-reported health and announce it with a ``status``."""
        self._health, self._health_message = health, message
        self._send_status()

    def emit_summary_now(self) -> None:
        """Flush the current window as a summary immediately."""
        now = self.clock.now()
        with self._hook_lock:
            start = self._window_start
            try:
                snap = self.snapshot(now)
                data = dict(self.summarize(snap, start, now))
            except Exception as exc:
                self._hook_failed("summarize", exc, force=True)
                data = {"error": "summarize_failed"}
            self._window_start = now
            self._pending = False
        data.setdefault("window", {"start": iso(start), "end": iso(now)})
        data.setdefault("activity_signal", activity_signal("passive"))
        self._emit(SummaryMessage(**self._envelope(), data=data))

    # ---- the core, driven by ``run`` or by mimolo.testing --------------------------

    def begin(self) -> None:
        """Handshake, ``on_start``, first deadlines."""
        now = self.clock.monotonic()
        self._emit(
            HandshakeMessage(
                **self._envelope(),
                min_app_version=self.min_app_version,
                capabilities=self._capabilities(),
                data={
                    "plugin_id": self.plugin_id,
                    "sample_interval_s": self.sample_interval_s,
                    "heartbeat_interval_s": self.heartbeat_interval_s,
                    "widget_manifest": self.widget_manifest(),
                },
            )
        )
        self._window_start = self.clock.now()
        try:
            self.on_start()
        except Exception as exc:
            self._hook_failed("on_start", exc, force=True)
            self._health, self._health_message = "degraded", f"on_start failed: {exc}"
        self._next_heartbeat = now + self.heartbeat_interval_s
        self._schedule_sampling(now)

    def run_due(self) -> float:
        """Run the sample tick and heartbeat that are due; seconds until the next one."""
        now = self.clock.monotonic()
        interval = self.sample_interval_s
        if (
            self.sampling
            and self._next_sample is not None
            and interval
            and now >= self._next_sample
        ):
            try:
                with self._hook_lock:
                    self.accumulate(self.clock.now())
                    self._pending = True
            except Exception as exc:
                self._hook_failed("accumulate", exc)
            self._next_sample += interval
            if self._next_sample <= now:  # fell behind: skip, never burst
                self._next_sample = now + interval
        if now >= self._next_heartbeat:
            self._send_heartbeat()
            self._next_heartbeat = max(self._next_heartbeat + self.heartbeat_interval_s, now)
            if self._next_heartbeat <= now:
                self._next_heartbeat = now + self.heartbeat_interval_s
        deadlines = [self._next_heartbeat]
        if self.sampling and self._next_sample is not None:
            deadlines.append(self._next_sample)
        return max(0.0, min(deadlines) - self.clock.monotonic())

    def handle_line(self, line: bytes | None) -> None:
        """One stdin line; bad ones are answered with an ``error`` and otherwise ignored."""
        if line is None:
            self.report_error(
                f"bad command line (oversized): over {MAX_COMMAND_BYTES} bytes",
                severity="warning",
                reason="oversized",
            )
            return
        try:
            command = decode_command(line)
        except LineRejected as exc:
            self.report_error(
                f"bad command line ({exc.reason}): {exc.detail}",
                severity="warning",
                reason=exc.reason,
            )
            return
        self.handle_command(command)

    def handle_command(self, command: AgentCommand) -> None:
        """Execute one decoded command (DESIGN §3)."""
        cid = command.id if isinstance(command.id, str) else None
        if isinstance(command, AckCommand):
            if not command.accepted:
                self.log("warning", "handshake not accepted")
                self._finish()
            return
        if isinstance(command, RejectCommand):
            self.log("warning", f"handshake rejected: {command.reason}")
            self._finish()
        elif isinstance(command, FlushCommand):
            self._flush(cid)
        elif isinstance(command, StopCommand):
            self._stop(cid)
        elif isinstance(command, StartCommand):
            self._start()
        elif isinstance(command, StatusCommand):
            self._send_status()
        elif isinstance(command, ShutdownCommand):
            self._shutdown(cid)
        elif isinstance(command, SequenceCommand):
            for step in command.sequence:
                if self.exiting:
                    break
                {
                    "stop": lambda: self._stop(cid),
                    "flush": lambda: self._flush(cid),
                    "shutdown": lambda: self._shutdown(cid),
                    "start": self._start,
                    "status": self._send_status,
                }[step]()
        elif isinstance(command, WidgetRenderCommand):
            self._widget_render(command)
        elif isinstance(command, WidgetActionCommand):
            self._widget_action(command, cid)

    def handle_eof(self) -> None:
        """Operations closed our stdin: keep a summary in progress if cheap, then exit."""
        if self._pending:
            self.emit_summary_now()
        self._finish()

    def handle_signal(self) -> None:
        """SIGTERM: like ``shutdown`` without a command to acknowledge."""
        self.handle_eof()

    def run(self, stdin_fd: int, writer: ProtocolWriter) -> int:
        """The main loop: returns the exit code."""
        self._writer = writer
        self.begin()
        reader = LineReader(stdin_fd, self._reader_line, lambda: self._inbox.put(("eof", None)))
        reader.start()
        while not self.exiting:
            timeout = self.run_due()
            if writer.broken:  # nobody reads our output any more
                self._finish()
                break
            try:
                kind, payload = self._inbox.get(timeout=timeout)
            except queue.Empty:
                continue
            if kind in ("line", "oversized"):
                self._line_slots.release()
                self.handle_line(payload)
            elif kind == "eof":
                self.handle_eof()
            elif kind == "signal":
                self.handle_signal()
        return self.exit_code

    @classmethod
    def main(cls, argv: Sequence[str] | None = None) -> NoReturn:
        """Process entry point: ``python -m mimolo.agents.<name> [--param NAME=VALUE ...]``."""
        args = list(sys.argv[1:] if argv is None else argv)
        overrides: dict[str, str] = {}
        if args:  # by hand; Operations passes none
            doc = (cls.__doc__ or "").replace("``", "").strip().splitlines()
            overrides = parse_agent_argv(cls.plugin_id, doc[0] if doc else "", cls.params, args)
        writer = take_over_stdout()
        try:
            agent = cls(resolve_config(cls.params, overrides))
        except (ConfigError, ValueError) as exc:
            print(f"{cls.plugin_id}: invalid configuration: {exc}", file=sys.stderr)
            writer.close()
            sys.exit(2)
        handler = ProtocolLogHandler(agent)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)

        def _on_term(signum: int, frame: FrameType | None) -> None:
            """SIGTERM handler: hand the signal to the main loop."""
            agent._inbox.put(("signal", None))  # SimpleQueue.put is reentrant

        signal.signal(signal.SIGTERM, _on_term)
        code = agent.run(0, writer)
        root.removeHandler(handler)
        writer.close()
        sys.exit(code)

    # ---- internals ------------------------------------------------------------------

    def _reader_line(self, line: bytes | None) -> None:
        """Reader thread: queue a line, blocking when the inbox is full."""
        self._line_slots.acquire()
        self._inbox.put(("line" if line is not None else "oversized", line))

    def _envelope(self) -> dict[str, Any]:
        """The fields every message carries."""
        return {
            "timestamp": self.clock.now(),
            "agent_id": self.agent_id,
            "agent_label": self.agent_label,
            "agent_version": self.agent_version,
            "protocol_version": PROTOCOL_VERSION,
        }

    def _emit(self, message: AgentMessage) -> None:
        """Encode and write one message (and record it when testing)."""
        if self.sent is not None:
            self.sent.append(message)
        if self._writer is not None:
            self._writer.write_line(encode_message(message))

    def _capabilities(self) -> list[str]:
        """What the handshake advertises."""
        caps = ["summary", "heartbeat", "status", "flush", "sequence"]
        if self.widget_manifest() is not None:
            caps.append("widget")
        return caps + [c for c in self.capabilities if c not in caps]

    def _schedule_sampling(self, now: float) -> None:
        interval = self.sample_interval_s
        self._next_sample = now + interval if interval else None

    def _hook_failed(self, hook: str, exc: BaseException, *, force: bool = False) -> None:
        """Report an exception from agent code, at most once a minute unless forced."""
        now = self.clock.monotonic()
        if not force and now - self._last_hook_error < _HOOK_ERROR_EVERY_S:
            return
        self._last_hook_error = now
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.report_error(f"{hook} failed: {detail}", hook=hook)

    def _ack(self, name: str, cid: str | None, **data: Any) -> None:
        """Acknowledge a command, echoing its ``id`` as ``data.command_id``."""
        if cid is not None:
            data["command_id"] = cid
        self._emit(AckMessage(**self._envelope(), ack_command=name, data=data))

    def _send_status(self) -> None:
        """A ``status`` message with the current self-reported health."""
        self._emit(
            StatusMessage(
                **self._envelope(),
                health=self._health,
                message=self._health_message,
                data={"sampling": self.sampling},
            )
        )

    def _send_heartbeat(self) -> None:
        """A heartbeat with self-measured metrics plus ``extra_metrics``."""
        self.cpu.sample()
        metrics = self.cpu.metrics(queue=self._inbox.qsize())
        try:
            metrics.update(self.extra_metrics())
        except Exception as exc:
            self._hook_failed("extra_metrics", exc)
        self._emit(HeartbeatMessage(**self._envelope(), metrics=metrics, health=self._health))

    def _flush(self, cid: str | None) -> None:
        """Summary first, then the ACK."""
        self.emit_summary_now()
        self._ack("flush", cid)

    def _stop(self, cid: str | None) -> None:
        """Pause sampling (heartbeats continue) and ACK."""
        if self.sampling:
            self.sampling = False
            self._next_sample = None
            try:
                self.on_stop_sampling()
            except Exception as exc:
                self._hook_failed("on_stop_sampling", exc, force=True)
        self._ack("stop", cid)

    def _start(self) -> None:
        """Resume sampling; ``start`` has no ACK."""
        if not self.sampling:
            self.sampling = True
            self._schedule_sampling(self.clock.monotonic())
            try:
                self.on_resume_sampling()
            except Exception as exc:
                self._hook_failed("on_resume_sampling", exc, force=True)

    def _shutdown(self, cid: str | None) -> None:
        """Clean up, ACK, and leave the main loop."""
        self._finish()
        self._ack("shutdown", cid)

    def _finish(self) -> None:
        """Run ``on_shutdown`` once and mark the agent as exiting."""
        if self.exiting:
            return
        self.exiting = True
        try:
            self.on_shutdown()
        except Exception as exc:
            self._hook_failed("on_shutdown", exc, force=True)

    def _widget_render(self, command: WidgetRenderCommand) -> None:
        """Answer ``widget_render`` with a frame or a ``widget_not_supported`` error."""
        request = WidgetRequest.from_args(command.args)
        try:
            fragment = self.render_widget(request)
        except Exception as exc:
            self._hook_failed("render_widget", exc, force=True)
            fragment = None
            message = "widget_render_failed"
        else:
            message = WIDGET_NOT_SUPPORTED
        if fragment is None:
            self._emit(
                ErrorMessage(
                    **self._envelope(), message=message, data={"request_id": request.request_id}
                )
            )
            return
        token = f"{zlib.crc32(fragment.encode()):08x}"  # cheap; hashlib costs ~4 MB RSS
        data = WidgetFrameData(
            request_id=request.request_id,
            html=fragment,
            ttl_ms=self.widget_ttl_ms,
            state_token=token,
        )
        self._emit(WidgetFrameMessage(**self._envelope(), data=data))

    def _widget_action(self, command: WidgetActionCommand, cid: str | None) -> None:
        """Run a widget action; ``refresh`` flushes a summary before the ACK."""
        args = command.args
        request_id = str(args.get("request_id", ""))
        action = args.get("action")
        if not isinstance(action, str) or not action:
            self.report_error(
                "widget_action without an action", request_id=request_id, code="invalid_action"
            )
            return
        try:
            self.handle_widget_action(action, args)
        except Exception as exc:
            code = getattr(exc, "code", "widget_action_failed")
            self.report_error(str(exc), request_id=request_id, action=action, code=code)
            return
        if action == "refresh":
            self.emit_summary_now()
        self._ack("widget_action", cid, request_id=request_id)


__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "BaseAgent",
    "ProtocolLogHandler",
    "activity_signal",
]
