"""A fake agent that speaks the real Agent JLP, misbehaving exactly as its ``Behaviour`` says.

It runs as a task on the (virtual) loop inside a ``FakeProcess``: handshake first, ACKs,
``flush`` as summary then ACK, ``sequence`` steps in order, ``widget_render`` answered with
a ``widget_frame``, heartbeats on its interval (DESIGN §3). Every delay is an
``asyncio.sleep`` and every random choice comes from its seeded ``random.Random``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
from typing import TYPE_CHECKING, Any, Literal, get_args

import msgspec

from mimolo.errors import LineRejected
from mimolo.operations.clock import LoopClock
from mimolo.protocol.agent_env import HEARTBEAT_INTERVAL_S
from mimolo.protocol.codec import decode_command, encode_message
from mimolo.protocol.commands import (
    AckCommand,
    AgentCommand,
    FlushCommand,
    PauseCaptureCommand,
    RejectCommand,
    ResumeCaptureCommand,
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
    AgentMessage,
    HandshakeMessage,
    HeartbeatMessage,
    LogMessage,
    StatusMessage,
    SummaryMessage,
    WidgetFrameData,
    WidgetFrameMessage,
)

from .vloop import VIRTUAL_EPOCH, SimulationFailure

if TYPE_CHECKING:
    from .fake_os import FakeProcess

Handshake = Literal["first", "never", "wrong_protocol", "after_heartbeat"]
LineKind = Literal["log", "summary", "heartbeat", "status", "ack"]
SigtermAnswer = Literal["obey", "ignore"]

PROTOCOL_VERSION = "0.4"
DEFAULT_HEARTBEAT_S = 15.0
_STDIN_CHUNK = 4096


class BehaviourInvalid(SimulationFailure):
    """A ``Behaviour`` with an impossible knob (moved to ``mimolo.errors`` later)."""

    code = "simulation_behaviour_invalid"


class Behaviour(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, repr_omit_defaults=True
):
    """What one fake agent process does; the default is a well-behaved agent."""

    handshake: Handshake = "first"
    handshake_delay_s: float = 0.0
    glued: tuple[LineKind, ...] = ()  # written in the same chunk as the handshake
    heartbeat_s: float | None = None  # None: MIMOLO_HEARTBEAT_INTERVAL_S, else 15 s
    crash_after_s: float | None = None  # exit with ``exit_code`` this long after handshake
    crash_mid_stop: bool = False  # in a ``sequence``: ACK stop, then exit before the flush
    exit_code: int = 3
    on_sigterm: SigtermAnswer = "obey"
    sigterm_delay_s: float = 0.0  # an obeying agent takes this long to exit
    exit_on_eof: bool = True
    flood: LineKind | None = None  # after the handshake, lines of this type at ``flood_hz``
    flood_hz: float = 50.0
    silent_after_handshake: bool = False  # reads commands, answers nothing, no heartbeats
    stdin_bytes_per_s: float | None = None  # None: reads stdin as fast as it arrives
    split_lines: bool = False  # every write goes out in 2-4 pieces, a tick apart
    # reads join buffered writes, as a Linux pipe does; False pins every read to one write
    # (even with a backlog, which a real pipe would hand over in one read)
    coalesce_reads: bool = True
    flush_ack_first: bool = False  # standalone flush: ACK before the summary (upstream v0.3)
    escaped_children: int = 0  # setsid descendants only ``kill_tree`` ends
    spawn_error: bool = False  # the launcher fails to start it (ENOENT)
    spawn_delay_s: float = 0.0
    captures: bool = False  # advertises capture_pause and ACKs pause/resume_capture

    def __post_init__(self) -> None:
        _check_choice("handshake", self.handshake, Handshake)
        _check_choice("on_sigterm", self.on_sigterm, SigtermAnswer)
        for kind in self.glued:
            _check_choice("glued", kind, LineKind)
        if self.flood is not None:
            _check_choice("flood", self.flood, LineKind)
        for name in ("handshake_delay_s", "sigterm_delay_s", "spawn_delay_s"):
            if not getattr(self, name) >= 0:
                raise BehaviourInvalid(f"{name} must be >= 0, not {getattr(self, name)!r}")
        for name in ("heartbeat_s", "crash_after_s", "stdin_bytes_per_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise BehaviourInvalid(f"{name} must be > 0 or None, not {value!r}")
        if not self.flood_hz > 0:
            raise BehaviourInvalid(f"flood_hz must be > 0, not {self.flood_hz!r}")
        if self.escaped_children < 0:
            raise BehaviourInvalid(f"escaped_children must be >= 0, not {self.escaped_children}")


def _check_choice(name: str, value: object, choices: Any) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise BehaviourInvalid(f"{name} must be one of {allowed}, not {value!r}")


class FakeAgent:
    """The body of a ``FakeProcess``."""

    def __init__(self, proc: FakeProcess, rng: random.Random) -> None:
        self._proc = proc
        self._b = proc.behaviour
        self._rng = rng
        self._clock = LoopClock(virtual_epoch=VIRTUAL_EPOCH)
        self._write_lock = asyncio.Lock()
        self._summaries = 0
        self.handshake_sent = False
        self.accepted: bool | None = None
        self.sampling = True
        self.stdin_eof = False
        self._tg: asyncio.TaskGroup | None = None

    # ---- lifecycle ------------------------------------------------------------------

    async def run(self) -> None:
        """Until it exits (``FakeProcess.exit`` cancels this task) or its body ends."""
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            tg.create_task(self._serve_stdin())
            await asyncio.sleep(self._b.handshake_delay_s)
            if self._b.handshake == "never":
                return
            if self._b.handshake == "after_heartbeat":
                await self._emit(self._heartbeat())
            version = "9.9" if self._b.handshake == "wrong_protocol" else PROTOCOL_VERSION
            await self._emit(self._handshake(version), *(self._line(k) for k in self._b.glued))
            self.handshake_sent = True
            if self._b.crash_after_s is not None:
                tg.create_task(self._crash_after(self._b.crash_after_s))
            if not self._b.silent_after_handshake:
                tg.create_task(self._heartbeats())
                if self._b.flood is not None:
                    tg.create_task(self._flood(self._b.flood))

    def on_signal(self, sig: int) -> None:
        """A signal to the process group (SIGKILL never gets here)."""
        if sig != signal.SIGTERM or self._b.on_sigterm == "ignore":
            return
        if self._b.sigterm_delay_s == 0 or self._tg is None:
            self._proc.exit(-signal.SIGTERM)
        else:
            self._tg.create_task(self._exit_after(self._b.sigterm_delay_s, -signal.SIGTERM))

    async def _crash_after(self, delay: float) -> None:
        await self._exit_after(delay, self._b.exit_code)

    async def _exit_after(self, delay: float, code: int) -> None:
        await asyncio.sleep(delay)
        self._proc.exit(code)

    async def _heartbeats(self) -> None:
        interval = self._b.heartbeat_s or float(
            self._proc.env.get(HEARTBEAT_INTERVAL_S) or DEFAULT_HEARTBEAT_S
        )
        while True:
            await asyncio.sleep(interval)
            await self._emit(self._heartbeat())

    async def _flood(self, kind: LineKind) -> None:
        while True:
            await asyncio.sleep(1.0 / self._b.flood_hz)
            await self._emit(self._line(kind))

    # ---- stdin ----------------------------------------------------------------------

    async def _serve_stdin(self) -> None:
        pending = bytearray()
        while True:
            chunk = await self._proc.stdin.read(_STDIN_CHUNK)
            if not chunk:
                break
            if self._b.stdin_bytes_per_s is not None:
                await asyncio.sleep(len(chunk) / self._b.stdin_bytes_per_s)
            pending += chunk
            while (nl := pending.find(b"\n")) >= 0:
                line = bytes(pending[:nl])
                del pending[: nl + 1]
                await self._command_line(line)
        self.stdin_eof = True
        if self._b.exit_on_eof:
            self._proc.exit(0)
        else:
            await asyncio.get_running_loop().create_future()  # lives on until killed

    async def _command_line(self, line: bytes) -> None:
        try:
            command = decode_command(line)
        except LineRejected:
            return  # the real SDK answers with an error; Operations never sends garbage
        self._proc.commands.append(command)
        if isinstance(command, AckCommand):
            self.accepted = command.accepted
            if not command.accepted:
                self._proc.exit(0)
        elif isinstance(command, RejectCommand):
            self.accepted = False
            self._proc.exit(0)
        elif not self._b.silent_after_handshake:
            await self._answer(command)

    async def _answer(self, command: AgentCommand) -> None:
        if isinstance(command, SequenceCommand):
            for step in command.sequence:
                await self._step(step, in_sequence=True)
                if step == "stop" and self._b.crash_mid_stop:
                    self._proc.exit(self._b.exit_code)
                    return
        elif isinstance(
            command, FlushCommand | StopCommand | StartCommand | StatusCommand | ShutdownCommand
        ):
            await self._step(_tag(command), in_sequence=False)
        elif isinstance(command, WidgetRenderCommand):
            rid = str(command.args.get("request_id", ""))
            data = WidgetFrameData(request_id=rid, html="<p>sim</p>", ttl_ms=1000)
            await self._emit(WidgetFrameMessage(**self._envelope(), data=data))
        elif isinstance(command, WidgetActionCommand):
            await self._emit(self._ack("widget_action"))
        elif isinstance(command, PauseCaptureCommand | ResumeCaptureCommand):
            await self._emit(self._ack(_tag(command)))

    async def _step(self, step: str, *, in_sequence: bool) -> None:
        if step == "flush":
            if self._b.flush_ack_first and not in_sequence:
                await self._emit(self._ack("flush"), self._summary())
            else:
                await self._emit(self._summary(), self._ack("flush"))
        elif step == "stop":
            self.sampling = False
            await self._emit(self._ack("stop"))
        elif step == "start":
            self.sampling = True
        elif step == "status":
            await self._emit(self._line("status"))
        elif step == "shutdown":
            await self._emit(self._ack("shutdown"))
            self._proc.exit(0)

    # ---- stdout ---------------------------------------------------------------------

    async def _emit(self, *messages: AgentMessage) -> None:
        """Write messages as one chunk (or, with ``split_lines``, in pieces a tick apart)."""
        lines = [encode_message(m) for m in messages]
        ends = list(zip(itertools.accumulate(len(line) for line in lines), messages, strict=True))
        data = b"".join(lines)
        cuts = [len(data)]
        if self._b.split_lines and len(data) > 1:
            k = min(len(data) - 1, self._rng.randint(1, 3))
            cuts = [*sorted(self._rng.sample(range(1, len(data)), k=k)), len(data)]
        async with self._write_lock:
            done = 0
            for cut in cuts:
                if self._proc.returncode is not None:
                    return  # it died part-way: the rest never reaches the pipe
                await self._proc.stdout.write(data[done:cut])
                done = cut
                while ends and ends[0][0] <= done:
                    self._count(ends.pop(0)[1])
                if cut != cuts[-1]:
                    await asyncio.sleep(0.001)

    def _count(self, message: AgentMessage) -> None:
        self._proc.written[_tag(message)] += 1
        if isinstance(message, SummaryMessage):
            self._proc.summaries.append(int(message.data["n"]))

    def _envelope(self) -> dict[str, Any]:
        return {
            "timestamp": self._clock.now(),
            "agent_id": self._proc.instance_id,
            "agent_label": "sim",
            "agent_version": "1.0.0",
            "protocol_version": PROTOCOL_VERSION,
        }

    def _handshake(self, version: str) -> HandshakeMessage:
        env = {**self._envelope(), "protocol_version": version}
        caps = ["summary", "heartbeat", "sequence"] + (
            ["capture_pause"] if self._b.captures else []
        )
        return HandshakeMessage(**env, min_app_version="0.1.0", capabilities=caps)

    def _heartbeat(self) -> HeartbeatMessage:
        return HeartbeatMessage(**self._envelope(), metrics={"queue": 0})

    def _summary(self) -> SummaryMessage:
        self._summaries += 1
        data = {
            "activity_signal": {"mode": "active", "keep_alive": True, "reason": "sim"},
            "n": self._summaries,
            "pid": self._proc.pid,
        }
        return SummaryMessage(**self._envelope(), data=data)

    def _ack(self, command: str) -> AckMessage:
        return AckMessage(**self._envelope(), ack_command=command)

    def _line(self, kind: LineKind) -> AgentMessage:
        if kind == "summary":
            return self._summary()
        if kind == "heartbeat":
            return self._heartbeat()
        if kind == "status":
            return StatusMessage(**self._envelope(), health="ok")
        if kind == "ack":
            return self._ack("status")
        return LogMessage(**self._envelope(), level="warning", message="sim: a log line")


def _tag(struct: msgspec.Struct) -> str:
    """A message's ``type`` or a command's ``cmd``."""
    return str(type(struct).__struct_config__.tag)


__all__ = ["Behaviour", "BehaviourInvalid", "FakeAgent", "Handshake", "LineKind", "SigtermAnswer"]
