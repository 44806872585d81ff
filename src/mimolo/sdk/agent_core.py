"""AgentCore: an agent's state and every message it sends, shared by BaseAgent's parts.

BaseAgent (``mimolo.sdk.agent``) is assembled from this core, the command dispatch
(``agent_commands``) and the widget answers (``agent_widgets``); each part needs the same
envelope, the same writer and the same summary window, so they live here once: the
identity read from the environment, the heartbeat with self-measured metrics, ``status``,
``ack``, ``log``, ``error`` and the summary flush with its ``accumulate`` / ``snapshot`` /
``summarize`` hooks.
"""

from __future__ import annotations

import os
import queue
import threading
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Final

from msgspec import UNSET

from mimolo import PROTOCOL_VERSION
from mimolo.errors import ConfigError
from mimolo.protocol import agent_env as env
from mimolo.protocol.codec import encode_message
from mimolo.protocol.messages import (
    AckMessage,
    ActivityMode,
    AgentMessage,
    ErrorMessage,
    Health,
    HeartbeatMessage,
    LogLevel,
    LogMessage,
    StatusMessage,
    SummaryMessage,
)
from mimolo.protocol.params import Param
from mimolo.sdk.clock import Clock, SystemClock, iso
from mimolo.sdk.metrics import DEFAULT_CPU_BUDGET_PERCENT, CpuMeter
from mimolo.sdk.params import load_agent_params
from mimolo.sdk.stdio import ProtocolWriter

DEFAULT_HEARTBEAT_INTERVAL_S: Final = 15.0
_MIN_INTERVAL_S: Final = 0.05
_HOOK_ERROR_EVERY_S: Final = 60.0
_INBOX_LINES: Final = 256


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


class AgentCore:
    """State and outgoing messages of an agent; subclass ``BaseAgent``, not this."""

    plugin_id: ClassVar[str] = "agent"
    agent_version: ClassVar[str] = "0.1.0"
    min_app_version: ClassVar[str] = "0.1.0"
    params: ClassVar[tuple[Param, ...]] = ()
    sample_interval_s: ClassVar[float | None] = 1.0

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

    def accumulate(self, now: datetime) -> None:
        """Called every ``sample_interval_s`` while sampling: observe and aggregate."""

    def snapshot(self, now: datetime) -> Any:
        """Take the aggregated state and reset it (called at each flush)."""
        return None

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        """Turn a snapshot into summary ``data``; include an ``activity_signal``."""
        return {}

    def extra_metrics(self) -> dict[str, Any]:
        """Agent-specific heartbeat metrics, merged over the standard ones."""
        return {}

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
            defaults = self._summary_defaults(start, now)
            self._window_start = now
            self._pending = False
        for key, value in defaults.items():
            data.setdefault(key, value)
        data.setdefault("window", {"start": iso(start), "end": iso(now)})
        data.setdefault("activity_signal", activity_signal("passive"))
        self._emit(SummaryMessage(**self._envelope(), data=data))

    # ---- internals ------------------------------------------------------------------

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

    def _summary_defaults(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Fields the SDK adds to a summary unless the agent set them (``paused_s``)."""
        return {}

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


__all__ = ["DEFAULT_HEARTBEAT_INTERVAL_S", "AgentCore", "activity_signal"]
