"""Operations → agent commands: ``{"cmd": ..., "args": {...}, "id": ...}``.

Upstream v0.3 agents do not echo ``id`` and ignore ``status``; ``start`` has no ACK.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

SequenceStep = Literal["stop", "flush", "shutdown", "start", "status"]


class _Command(msgspec.Struct, tag_field="cmd", kw_only=True):
    args: dict[str, Any] = {}
    id: str | UnsetType = UNSET


class AckCommand(_Command, tag="ack", kw_only=True):
    """Handshake accepted."""

    accepted: bool = True
    app_version: str
    protocol_version: str


class RejectCommand(_Command, tag="reject", kw_only=True):
    """Handshake refused; the agent is stopped."""

    reason: str


class FlushCommand(_Command, tag="flush", kw_only=True):
    pass


class StopCommand(_Command, tag="stop", kw_only=True):
    pass


class StartCommand(_Command, tag="start", kw_only=True):
    pass


class StatusCommand(_Command, tag="status", kw_only=True):
    pass


class ShutdownCommand(_Command, tag="shutdown", kw_only=True):
    pass


class SequenceCommand(_Command, tag="sequence", kw_only=True):
    """Steps executed in order: ACK stop; summary then ACK flush; ACK shutdown, then exit."""

    sequence: list[SequenceStep]


class WidgetRenderCommand(_Command, tag="widget_render", kw_only=True):
    """``args``: ``request_id`` plus optional ``width``/``height``/``state_token``."""


class WidgetActionCommand(_Command, tag="widget_action", kw_only=True):
    """``args``: ``request_id``, ``action`` (e.g. ``refresh``) and its parameters."""


class PauseCaptureCommand(_Command, tag="pause_capture", kw_only=True):
    """Off the record: ``args.until`` is an ISO-8601 UTC time, or null for until resumed.

    Sent only to agents whose handshake lists the ``capture_pause`` capability.
    """


class ResumeCaptureCommand(_Command, tag="resume_capture", kw_only=True):
    """End an off-the-record pause; a no-op (still acknowledged) when none is in force."""


AgentCommand: TypeAlias = (
    AckCommand
    | RejectCommand
    | FlushCommand
    | StopCommand
    | StartCommand
    | StatusCommand
    | ShutdownCommand
    | SequenceCommand
    | WidgetRenderCommand
    | WidgetActionCommand
    | PauseCaptureCommand
    | ResumeCaptureCommand
)

COMMAND_NAMES: tuple[str, ...] = (
    "ack",
    "reject",
    "flush",
    "stop",
    "start",
    "status",
    "shutdown",
    "sequence",
    "widget_render",
    "widget_action",
    "pause_capture",
    "resume_capture",
)

CAPTURE_PAUSE_CAPABILITY: Final = "capture_pause"

STOP_SEQUENCE: tuple[SequenceStep, ...] = ("stop", "flush", "shutdown")

__all__ = [
    "CAPTURE_PAUSE_CAPABILITY",
    "COMMAND_NAMES",
    "STOP_SEQUENCE",
    "AckCommand",
    "AgentCommand",
    "FlushCommand",
    "PauseCaptureCommand",
    "RejectCommand",
    "ResumeCaptureCommand",
    "SequenceCommand",
    "SequenceStep",
    "ShutdownCommand",
    "StartCommand",
    "StatusCommand",
    "StopCommand",
    "WidgetActionCommand",
    "WidgetRenderCommand",
]
