"""The OS edge of supervision: how an agent process is started, read, written and signalled.

The supervisor never calls ``asyncio.create_subprocess_exec`` or ``os.killpg`` itself: it
is handed a ``Launcher`` and talks to each agent through the ``OsProcess`` it returns. The
real launcher (``SubprocessLauncher``) starts every agent in its own session with
``PR_SET_PDEATHSIG`` and puts it under the data root's ``Containment``; simulation tests
pass a scripted in-memory launcher and drive every interleaving on a virtual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

_PR_SET_PDEATHSIG = 1


class OsProcess(Protocol):
    """What Operations needs of one started agent process."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def read_stdout(self, n: int) -> bytes:
        """Up to ``n`` bytes of stdout; ``b""`` at EOF."""
        ...

    async def read_stderr(self, n: int) -> bytes:
        """Up to ``n`` bytes of stderr; ``b""`` at EOF."""
        ...

    def write_stdin(self, data: bytes) -> None:
        """Queue bytes for stdin; raises ``BrokenPipeError`` once stdin is gone."""
        ...

    def stdin_buffered(self) -> int:
        """Bytes written but not yet taken by the agent."""
        ...

    def stdin_closed(self) -> bool: ...

    async def drain_stdin(self) -> None:
        """Until the write buffer is below its high-water mark (raises if the pipe broke)."""
        ...

    def close_stdin(self) -> None: ...

    async def wait(self) -> int:
        """Until the process exits; its exit code."""
        ...

    def signal_group(self, sig: int) -> bool:
        """Send ``sig`` to the agent's process group; False if nothing is left to signal."""
        ...

    async def kill_tree(self) -> int:
        """SIGKILL every process that descends from the agent (containment); how many."""
        ...


class Launcher(Protocol):
    """Starts agent processes. ``mode`` names the containment in force (for status)."""

    @property
    def mode(self) -> str: ...

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        instance_id: str,
    ) -> OsProcess: ...


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


PRCTL = _load_prctl()


class ContainmentHooks(Protocol):
    """The part of ``Containment`` the real launcher uses."""

    @property
    def mode(self) -> str: ...

    def child_hook(self, instance_id: str) -> Callable[[], None]:
        """Runs in the child before exec (e.g. joins the instance's cgroup)."""
        ...

    def track(self, instance_id: str, pid: int) -> None:
        """The agent ``pid`` was started for ``instance_id``: record it."""
        ...

    async def kill_tree(self, instance_id: str, pid: int) -> int:
        """SIGKILL everything that descends from the agent; how many were killed."""
        ...


def _child_setup(parent_pid: int, join: Callable[[], None]) -> Callable[[], None]:
    """The pre-exec hook: die with the parent (Linux), bail out if it already died, join."""

    def setup() -> None:
        if PRCTL is not None:
            PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)
        join()

    return setup


class _Subprocess:
    """``OsProcess`` over asyncio's subprocess transport."""

    def __init__(
        self, proc: asyncio.subprocess.Process, containment: ContainmentHooks, instance_id: str
    ) -> None:
        self._proc = proc
        self._containment = containment
        self._instance_id = instance_id

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    async def read_stdout(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        return await self._proc.stdout.read(n)

    async def read_stderr(self, n: int) -> bytes:
        assert self._proc.stderr is not None
        return await self._proc.stderr.read(n)

    def write_stdin(self, data: bytes) -> None:
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing():
            raise BrokenPipeError("stdin is closed")
        try:
            stdin.write(data)
        except RuntimeError as exc:  # transport closed under us
            raise BrokenPipeError(str(exc)) from exc

    def stdin_buffered(self) -> int:
        stdin = self._proc.stdin
        if stdin is None:
            return 0
        return stdin.transport.get_write_buffer_size()

    def stdin_closed(self) -> bool:
        stdin = self._proc.stdin
        return stdin is None or stdin.is_closing()

    async def drain_stdin(self) -> None:
        stdin = self._proc.stdin
        if stdin is None:
            raise BrokenPipeError("stdin is closed")
        await stdin.drain()

    def close_stdin(self) -> None:
        stdin = self._proc.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                stdin.close()

    async def wait(self) -> int:
        return await self._proc.wait()

    def signal_group(self, sig: int) -> bool:
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    async def kill_tree(self) -> int:
        return await self._containment.kill_tree(self._instance_id, self._proc.pid)


class GroupOnly:
    """The least containment: the agent's process group, nothing recorded."""

    mode = "process_group"

    def child_hook(self, instance_id: str) -> Callable[[], None]:
        return _no_op

    def track(self, instance_id: str, pid: int) -> None:
        return None

    async def kill_tree(self, instance_id: str, pid: int) -> int:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        return 0


def _no_op() -> None:
    return None


class SubprocessLauncher:
    """Real agent processes: own session, parent-death signal, contained descendants."""

    def __init__(self, containment: ContainmentHooks) -> None:
        self._containment = containment

    @property
    def mode(self) -> str:
        return self._containment.mode

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        instance_id: str,
    ) -> OsProcess:
        """Start ``argv`` (a list, never a shell string) in its own session."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid(), self._containment.child_hook(instance_id)),
        )
        self._containment.track(instance_id, proc.pid)
        return _Subprocess(proc, self._containment, instance_id)


__all__ = ["PRCTL", "ContainmentHooks", "GroupOnly", "Launcher", "OsProcess", "SubprocessLauncher"]
