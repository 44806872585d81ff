"""The off-the-record pause: whether capture is paused, since when, until when, by whom.

Operations owns the state and keeps it in ``<root>/operations/capture_pause.json`` (0600,
written atomically), so a pause "until resumed" outlives a restart of Operations. Every
change is an audit record (``pause_capture`` / ``resume_capture`` / ``pause_expired``) and
is sent to every running agent that advertised ``capture_pause``; an agent that starts
while a pause is in force gets it right after its handshake ACK. Expiry runs on the
injected clock (the supervisor's watchdog tick asks ``expire_due``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.errors import DataRootError
from mimolo.operations.clock import Clock
from mimolo.operations.diagnostics import DiagnosticsAPI
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.runner import ack_waiter
from mimolo.protocol.commands import (
    CAPTURE_PAUSE_CAPABILITY,
    AgentCommand,
    PauseCaptureCommand,
    ResumeCaptureCommand,
)

log = logging.getLogger(__name__)

STATE_FILENAME: Final = "capture_pause.json"
MAX_MINUTES: Final = 1440
ACK_TIMEOUT_S: Final = 5.0
Via = Literal["ipc", "cli", "control", "operations"]
Delivery = Literal["acked", "no_ack", "not_reading"]


class CapturePause(msgspec.Struct, frozen=True, kw_only=True):
    """The pause in force (``paused`` False: none). ``until`` None: until resumed."""

    paused: bool = False
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None

    def view(self, now: datetime) -> dict[str, Any]:
        """The wire form: IPC answers and ``get_status.capture_pause``."""
        remaining = None
        if self.paused and self.until is not None:
            remaining = round(max(0.0, (self.until - now).total_seconds()), 3)
        return {
            "paused": self.paused,
            "since": _iso(self.since) if self.paused else None,
            "until": _iso(self.until) if self.paused else None,
            "by": self.by if self.paused else None,
            "remaining_s": remaining,
        }

    def command(self) -> AgentCommand:
        """What an agent is sent to match this state."""
        if not self.paused:
            return ResumeCaptureCommand()
        return PauseCaptureCommand(args={"until": _iso(self.until) if self.until else None})


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def state_path(data_root: DataRoot) -> Path:
    return data_root.operations_dir / STATE_FILENAME


def load_state(path: Path) -> tuple[CapturePause, str | None]:
    """The stored state and, when the file is unreadable, why (then paused: fail closed)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CapturePause(), None
    except OSError as exc:
        problem = f"cannot read {path.name}: {exc.strerror}"
    else:
        try:
            state = msgspec.json.decode(raw, type=CapturePause)
        except msgspec.DecodeError as exc:
            problem = f"{path.name} is not a valid capture pause state: {exc}"
        else:
            if state.since is not None and state.since.tzinfo is None:
                problem = f"{path.name}: since has no timezone"
            elif state.until is not None and state.until.tzinfo is None:
                problem = f"{path.name}: until has no timezone"
            else:
                return state, None
    return CapturePause(paused=True, by="operations"), problem


def save_state(path: Path, state: CapturePause) -> None:
    """Write the state atomically, 0600; a failure is a ``DataRootError``."""
    try:
        write_atomic(path, msgspec.json.encode(state) + b"\n")
    except OSError as exc:
        raise DataRootError(f"cannot write {path}: {exc.strerror}") from None


def captures(rt: InstanceRuntime) -> bool:
    """A running agent whose handshake advertised ``capture_pause``."""
    return rt.state == "running" and captures_after_ack(rt)


def captures_after_ack(rt: InstanceRuntime) -> bool:
    """Its handshake advertised ``capture_pause`` (also before it is ``running``)."""
    hello = rt.handshake
    if rt.proc is None or hello is None or not hello.done() or hello.cancelled():
        return False
    if hello.exception() is not None:
        return False
    return CAPTURE_PAUSE_CAPABILITY in hello.result().capabilities


class CaptureControl:
    """The pause state of one Operations, its file, its audit trail and its broadcasts."""

    def __init__(
        self,
        path: Path,
        diagnostics: DiagnosticsAPI,
        clock: Clock,
        runtimes: Callable[[], Iterable[InstanceRuntime]],
    ) -> None:
        self.path = path
        self.diagnostics = diagnostics
        self.clock = clock
        self._runtimes = runtimes
        self._state, problem = load_state(path)
        if problem is not None:
            log.error("capture pause: %s; capture stays paused until resumed", problem)
            diagnostics.record(
                "lifecycle", level="error", event="capture_pause_unreadable", message=problem
            )

    @property
    def state(self) -> CapturePause:
        return self._state

    def view(self) -> dict[str, Any]:
        return self._state.view(self.clock.now())

    async def pause(self, minutes: int | None, *, via: Via) -> dict[str, Any]:
        """Pause capture (``minutes`` None: until resumed); answer the state and deliveries."""
        if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
            raise ValueError(f"minutes must be between 1 and {MAX_MINUTES}")
        now = self.clock.now()
        until = None if minutes is None else now + timedelta(minutes=minutes)
        since = self._state.since if self._state.paused and self._state.since else now
        self._set(CapturePause(paused=True, since=since, until=until, by=via))
        self._audit("pause_capture", via=via, until=_iso(until), minutes=minutes)
        return await self._answer()

    async def resume(self, *, via: Via) -> dict[str, Any]:
        """End the pause (a no-op when none is in force; agents are told either way)."""
        was = self._state
        if was.paused:
            self._set(CapturePause())
            self._audit("resume_capture", via=via, since=_iso(was.since), until=_iso(was.until))
        return await self._answer()

    def expire_due(self) -> AgentCommand | None:
        """End a pause whose ``until`` has passed; the command to broadcast, or None."""
        was = self._state
        if not was.paused or was.until is None or self.clock.now() < was.until:
            return None
        try:
            self._set(CapturePause())
        except DataRootError as exc:  # the pause is over either way; retried next tick
            log.error("capture pause expiry: %s", exc)
            return None
        self._audit("pause_expired", via="operations", since=_iso(was.since), until=_iso(was.until))
        return self._state.command()

    def after_handshake(self, rt: InstanceRuntime) -> None:
        """Right after the handshake ACK: a capturing agent learns of a pause in force."""
        if not self._state.paused or not captures_after_ack(rt):
            return
        assert rt.proc is not None
        ack_waiter(rt, "pause_capture")  # its answer is solicited, never budgeted
        if not rt.proc.send_nowait(self._state.command()):
            log.warning("%s: could not send the capture pause in force", rt.instance_id)

    async def broadcast(self, command: AgentCommand) -> dict[str, Delivery]:
        """Send ``command`` to every capturing agent; per instance whether it acknowledged."""
        targets = [rt for rt in self._runtimes() if captures(rt)]
        results = await asyncio.gather(*(self._deliver(rt, command) for rt in targets))
        return {rt.instance_id: result for rt, result in zip(targets, results, strict=True)}

    # ---- internals ------------------------------------------------------------------

    def _set(self, state: CapturePause) -> None:
        save_state(self.path, state)
        self._state = state

    def _audit(self, action: str, **fields: Any) -> None:
        self.diagnostics.record("audit", action=action, essential=True, **fields)
        log.info("capture: %s %s", action, fields)

    async def _answer(self) -> dict[str, Any]:
        delivered = await self.broadcast(self._state.command())
        return {**self.view(), "agents": delivered}

    async def _deliver(self, rt: InstanceRuntime, command: AgentCommand) -> Delivery:
        proc = rt.proc
        assert proc is not None
        name = "pause_capture" if isinstance(command, PauseCaptureCommand) else "resume_capture"
        waiter = ack_waiter(rt, name)
        if not await proc.send(command, timeout_s=ACK_TIMEOUT_S):
            waiter.cancel()
            return "not_reading"
        try:
            async with asyncio.timeout(ACK_TIMEOUT_S):
                await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not waiter.cancelled():
                raise
            return "no_ack"
        return "acked"


__all__ = [
    "MAX_MINUTES",
    "STATE_FILENAME",
    "CaptureControl",
    "CapturePause",
    "Via",
    "captures",
    "load_state",
    "save_state",
    "state_path",
]
