"""One agent OS process: spawn it safely, read its lines with a cap, write commands, end it.

Every agent runs in its own session (process group) with ``PR_SET_PDEATHSIG=SIGKILL`` on
Linux, so it dies with Operations even on SIGKILL; it also exits on stdin EOF. Stopping is
terminate -> grace -> kill of the whole group, each step logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from mimolo.protocol.codec import encode_command
from mimolo.protocol.commands import AgentCommand

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
STDERR_LINE_MAX = 4096
_WRITE_BUFFER_MAX = 1024 * 1024
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _load_prctl()


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """The pre-exec hook: die with the parent (Linux), and bail out if it already died."""

    def setup() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


LineHandler = Callable[[bytes], Awaitable[None] | None]


class AgentProcess:
    """A spawned agent: pipes, pid, and the steps to end it."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.oversized_lines = 0

    @classmethod
    async def spawn(
        cls, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None
    ) -> AgentProcess:
        """Start ``argv`` (a list, never a shell string) in its own session."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
        return cls(proc)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def read_lines(
        self,
        on_line: Callable[[bytes], None],
        on_oversized: Callable[[int], None],
        *,
        max_line_bytes: int,
        before_chunk: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Read stdout to EOF, calling ``on_line`` per complete line (newline stripped).

        A line longer than ``max_line_bytes`` is discarded up to its newline and reported
        through ``on_oversized`` with its size; memory stays bounded by the cap.
        """
        stream = self.proc.stdout
        assert stream is not None
        buf = bytearray()
        discarding = 0  # bytes of an oversized line dropped so far (0 = not discarding)
        while True:
            if before_chunk is not None:
                await before_chunk()
            # StreamReader.read returns without yielding while data is buffered: yield
            # explicitly so a flooding agent cannot starve the event loop.
            await asyncio.sleep(0)
            chunk = await stream.read(READ_CHUNK)
            if not chunk:
                break
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                if nl < 0:
                    rest = len(chunk) - start
                    if discarding:
                        discarding += rest
                    elif len(buf) + rest > max_line_bytes:
                        discarding = len(buf) + rest
                        buf.clear()
                    else:
                        buf += chunk[start:]
                    break
                if discarding:
                    self.oversized_lines += 1
                    on_oversized(discarding + nl - start)
                    discarding = 0
                elif buf:
                    buf += chunk[start:nl]
                    line = bytes(buf)
                    buf.clear()
                    if len(line) > max_line_bytes:
                        self.oversized_lines += 1
                        on_oversized(len(line))
                    else:
                        on_line(line)
                elif nl - start > max_line_bytes:
                    self.oversized_lines += 1
                    on_oversized(nl - start)
                else:
                    on_line(chunk[start:nl])
                start = nl + 1
        if discarding:
            self.oversized_lines += 1
            on_oversized(discarding)
        elif buf:
            on_line(bytes(buf))  # a final line without newline is still a line

    async def read_stderr(self, on_line: Callable[[str], None]) -> None:
        """Read stderr to EOF, passing bounded decoded lines (never parsed as protocol)."""
        stream = self.proc.stderr
        assert stream is not None
        buf = bytearray()
        while True:
            await asyncio.sleep(0)
            chunk = await stream.read(READ_CHUNK)
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
        stdin = self.proc.stdin
        if stdin is None or stdin.is_closing():
            return False
        transport = stdin.transport
        if (
            isinstance(transport, asyncio.WriteTransport)
            and transport.get_write_buffer_size() > _WRITE_BUFFER_MAX
        ):
            return False
        try:
            stdin.write(encode_command(command))
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False
        return True

    async def send(self, command: AgentCommand, *, timeout_s: float = 5.0) -> bool:
        """Write a command and wait (bounded) until it left our buffer."""
        if not self.send_nowait(command):
            return False
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            async with asyncio.timeout(timeout_s):
                await stdin.drain()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            return False
        return True

    def close_stdin(self) -> None:
        """EOF on the agent's stdin: our agents exit on it."""
        stdin = self.proc.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                stdin.close()

    def signal_group(self, sig: signal.Signals) -> bool:
        """Send ``sig`` to the agent's whole process group; False if it no longer exists."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the process to exit; True if it did."""
        if self.proc.returncode is not None:
            return True
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await self.proc.wait()
        except TimeoutError:
            return False
        return True

    async def terminate(self, grace_s: float, *, label: str) -> int | None:
        """Close stdin, SIGTERM the group, SIGKILL after ``grace_s``; return the exit code."""
        self.close_stdin()
        if self.proc.returncode is None:
            log.info("%s: SIGTERM to process group %d", label, self.pid)
            self.signal_group(signal.SIGTERM)
            if not await self.wait(grace_s):
                log.warning("%s: still alive after %.1fs; SIGKILL", label, grace_s)
                self.signal_group(signal.SIGKILL)
                await self.wait(10.0)
        # Leftover members of the group (the agent's own children) go too.
        self.signal_group(signal.SIGKILL)
        return self.proc.returncode

    def kill_now(self) -> None:
        """Immediate SIGKILL of the group (cancellation path; no waiting)."""
        self.close_stdin()
        self.signal_group(signal.SIGKILL)


__all__ = ["AgentProcess", "LineHandler"]
