"""Capture commands: ``pause_capture`` (``minutes`` 1..1440, absent: until resumed) and
``resume_capture``; and the ``capture_pause`` field of ``get_status``.

Both answer with the state in force afterwards (``paused``, ``since``, ``until``, ``by``,
``remaining_s``) and, per capturing agent, whether it acknowledged (``agents``). ``via``
names where the request came from (``cli``, ``control``; default ``ipc``) for the audit.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from mimolo.errors import InvalidField, NotRunning
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.registry import Command
from mimolo.operations.capture_pause import MAX_MINUTES, CaptureControl

RequestVia = Literal["ipc", "cli", "control"]


class PauseParams(msgspec.Struct, forbid_unknown_fields=True):
    minutes: int | None = None
    via: RequestVia = "ipc"


class ResumeParams(msgspec.Struct, forbid_unknown_fields=True):
    via: RequestVia = "ipc"


def _control(ctx: IpcContext) -> CaptureControl:
    capture = getattr(ctx.supervisor, "capture", None)
    if not isinstance(capture, CaptureControl):
        raise NotRunning("this Operations has no capture pause")
    return capture


def capture_status(ctx: IpcContext) -> dict[str, Any] | None:
    """``get_status.capture_pause``: the state in force, or None without a supervisor's."""
    capture = getattr(ctx.supervisor, "capture", None)
    return capture.view() if isinstance(capture, CaptureControl) else None


async def pause_capture(ctx: IpcContext, params: PauseParams) -> dict[str, Any]:
    """Pause recording for ``minutes`` (or until resumed) on every capturing agent."""
    if params.minutes is not None and not 1 <= params.minutes <= MAX_MINUTES:
        raise InvalidField(
            "minutes", f"must be between 1 and {MAX_MINUTES}, or absent for until resumed"
        )
    return await _control(ctx).pause(params.minutes, via=params.via)


async def resume_capture(ctx: IpcContext, params: ResumeParams) -> dict[str, Any]:
    """End the pause in force (answers ``paused: false`` when there was none)."""
    return await _control(ctx).resume(via=params.via)


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("pause_capture", PauseParams, pause_capture, mutating=True),
    Command("resume_capture", ResumeParams, resume_capture, mutating=True),
]


__all__ = [
    "COMMANDS",
    "PauseParams",
    "ResumeParams",
    "capture_status",
    "pause_capture",
    "resume_capture",
]
