"""One agent process as the supervisor sees it: framed lines out, commands in, a stop.

It wraps the ``OsProcess`` a ``Launcher`` started (a real subprocess, or a simulated one in
tests), so framing, command writes and the terminate -> grace -> kill sequence are the same
code in production and in simulation. Stopping always ends with the whole tree: the
agent's group and every contained descendant.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

import msgspec

from mimolo.operations.launcher import OsProcess
from mimolo.process_group import Ending, stop_group
from mimolo.protocol.codec import encode_command
from mimolo.protocol.commands import AgentCommand
from mimolo.protocol.line_framer import Framed, LineFramer

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
STDERR_LINE_MAX = 4096
WRITE_BUFFER_MAX = 1024 * 1024


class StopResult(msgspec.Struct, frozen=True):
    """How a process ended: by itself, on SIGTERM, or killed."""

    returncode: int | None
    ending: Ending
    descendants_killed: int = 0


class AgentProcess:
    """A started agent: pid, framed reading, bounded writing, and the steps to end it."""

    def __init__(self, os_proc: OsProcess) -> None:
        self.os = os_proc
        self.pid = os_proc.pid

    @property
    def returncode(self) -> int | None:
        return self.os.returncode

    async def read_lines(
        self,
        on_line: Callable[[bytes], None],
        on_oversized: Callable[[int], None],
        *,
        max_line_bytes: int,
        before_chunk: Callable[[], Awaitable[None]] | None = None,
        on_chunk: Callable[[bool], None] | None = None,
    ) -> None:
        """Read stdout to EOF, calling ``on_line`` per complete line (newline stripped).

        ``on_chunk(discarding)`` follows every chunk read: output is output even before a
        line completes, and ``discarding`` says the chunk went into an oversized line.
        """
        framer = LineFramer(max_line_bytes)
        while True:
            if before_chunk is not None:
                await before_chunk()
            # A read returns without yielding while data is buffered: yield explicitly so a
            # flooding agent cannot starve the event loop.
            await asyncio.sleep(0)
            chunk = await self.os.read_stdout(READ_CHUNK)
            if not chunk:
                break
            self._deliver(framer.feed(chunk), on_line, on_oversized)
            if on_chunk is not None:
                on_chunk(framer.discarding)
        self._deliver(framer.finish(), on_line, on_oversized)

    def _deliver(
        self,
        framed: Iterable[Framed],
        on_line: Callable[[bytes], None],
        on_oversized: Callable[[int], None],
    ) -> None:
        for item in framed:
            if isinstance(item, int):
                on_oversized(item)
            else:
                on_line(item)

    async def read_stderr(self, on_line: Callable[[str], None]) -> None:
        """Read stderr to EOF, passing bounded decoded lines (never parsed as protocol)."""
        buf = bytearray()
        while True:
            await asyncio.sleep(0)
            chunk = await self.os.read_stderr(READ_CHUNK)
            if not chunk:
                break
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > STDERR_LINE_MAX:
                        on_line(buf[:STDERR_LINE_MAX].decode("utf-8", "replace") + " …")
                        buf.clear()
                    break
                on_line(buf[: min(nl, STDERR_LINE_MAX)].decode("utf-8", "replace"))
                del buf[: nl + 1]
        if buf:
            on_line(buf[:STDERR_LINE_MAX].decode("utf-8", "replace"))

    def send_nowait(self, command: AgentCommand) -> bool:
        """Queue a command on stdin without waiting; False if stdin is gone or backed up."""
        if self.os.stdin_closed() or self.os.stdin_buffered() > WRITE_BUFFER_MAX:
            return False
        try:
            self.os.write_stdin(encode_command(command))
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    async def send(self, command: AgentCommand, *, timeout_s: float = 5.0) -> bool:
        """Write a command and wait (bounded) until it left our buffer."""
        if not self.send_nowait(command):
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await self.os.drain_stdin()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            return False
        return True

    def close_stdin(self) -> None:
        """EOF on the agent's stdin: our agents exit on it."""
        self.os.close_stdin()

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the process to exit; True if it did."""
        if self.os.returncode is not None:
            return True
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await self.os.wait()
        except TimeoutError:
            return False
        return True

    async def terminate(self, grace_s: float, *, label: str) -> StopResult:
        """Close stdin, SIGTERM the group, SIGKILL after ``grace_s``, then the whole tree."""
        self.close_stdin()
        ending = await stop_group(
            self.pid,
            label=label,
            grace_s=grace_s,
            running=lambda: self.os.returncode is None,
            wait=self.wait,
            send=self.os.signal_group,
        )
        # Whatever it left behind (children, setsid grandchildren) goes too.
        killed = await self.os.kill_tree()
        if killed:
            log.warning("%s: ended %d leftover descendant process(es)", label, killed)
        return StopResult(self.os.returncode, ending, killed)

    def kill_now(self) -> None:
        """Immediate SIGKILL of the group (cancellation path; the tree follows in cleanup)."""
        self.close_stdin()
        self.os.signal_group(signal.SIGKILL)


__all__ = ["AgentProcess", "StopResult"]
