"""Agent → Operations messages of the Agent JLP (v0.3, plus the additive v0.4 ``widget_frame``).

One tagged union keyed on ``type``. Optional fields use ``UNSET`` so that an encoded message
carries only what was set, while decoding accepts upstream v0.3 agents that leave out
``protocol_version`` and ``data``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

Health = Literal["ok", "degraded", "overload", "failed"]
LogLevel = Literal["debug", "info", "warning", "error"]
ActivityMode = Literal["active", "passive"]

DEFAULT_PROTOCOL_VERSION = "0.3"


class ActivitySignal(msgspec.Struct, frozen=True):
    """``data.activity_signal`` of a summary: the only input to work-time derivation."""

    mode: ActivityMode
    keep_alive: bool | None = None
    reason: str | None = None


class ArtifactRef(msgspec.Struct, frozen=True):
    """A reference to heavy content kept in the agent's instance subtree."""

    artifact_id: str
    rel_path: str
    sha256: str
    bytes: int
    mime: str
    captured_at: datetime
    retention_class: str = "standard"


class _Envelope(msgspec.Struct, tag_field="type", kw_only=True):
    timestamp: datetime
    agent_id: str
    agent_label: str
    agent_version: str
    protocol_version: str = DEFAULT_PROTOCOL_VERSION
    data: dict[str, Any] = {}
    metrics: dict[str, Any] | UnsetType = UNSET
    health: Health | UnsetType = UNSET
    message: str | UnsetType = UNSET


class HandshakeMessage(_Envelope, tag="handshake", kw_only=True):
    min_app_version: str
    capabilities: list[str]


class SummaryMessage(_Envelope, tag="summary", kw_only=True):
    pass


class HeartbeatMessage(_Envelope, tag="heartbeat", kw_only=True):
    pass


class StatusMessage(_Envelope, tag="status", kw_only=True):
    pass


class ErrorMessage(_Envelope, tag="error", kw_only=True):
    message: str
    severity: str | UnsetType = UNSET


class LogMessage(_Envelope, tag="log", kw_only=True):
    level: LogLevel
    message: str
    markup: bool | UnsetType = UNSET
    extra: dict[str, Any] | UnsetType = UNSET


class AckMessage(_Envelope, tag="ack", kw_only=True):
    ack_command: str


class WidgetFrameData(msgspec.Struct, kw_only=True):
    """``data`` of a ``widget_frame``: one rendered HTML fragment."""

    request_id: str
    mode: Literal["html_fragment_v1"] = "html_fragment_v1"
    html: str
    ttl_ms: int = 0
    state_token: str = ""


class WidgetFrameMessage(_Envelope, tag="widget_frame", kw_only=True):
    data: WidgetFrameData  # type: ignore[assignment]


AgentMessage: TypeAlias = (
    HandshakeMessage
    | SummaryMessage
    | HeartbeatMessage
    | StatusMessage
    | ErrorMessage
    | LogMessage
    | AckMessage
    | WidgetFrameMessage
)

MESSAGE_TYPES: tuple[str, ...] = (
    "handshake",
    "summary",
    "heartbeat",
    "status",
    "error",
    "log",
    "ack",
    "widget_frame",
)

HEARTBEAT_METRIC_KEYS: tuple[str, ...] = (
    "cpu_percent_recent",
    "cpu_percent_avg_60s",
    "cpu_budget_percent",
    "cpu_budget_ok",
    "cpu_over_budget_seconds",
    "mem_mb",
    "queue",
)

__all__ = [
    "HEARTBEAT_METRIC_KEYS",
    "MESSAGE_TYPES",
    "AckMessage",
    "ActivityMode",
    "ActivitySignal",
    "AgentMessage",
    "ArtifactRef",
    "ErrorMessage",
    "HandshakeMessage",
    "Health",
    "HeartbeatMessage",
    "LogLevel",
    "LogMessage",
    "StatusMessage",
    "SummaryMessage",
    "WidgetFrameData",
    "WidgetFrameMessage",
]
