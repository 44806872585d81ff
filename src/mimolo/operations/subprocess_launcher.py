"""Real agent processes, started off the event loop.

Starting a process with a pre-exec hook (parent-death signal, joining a cgroup) means
fork + hook + exec, and the parent waits for the exec: 6 to 20 ms during which nothing else
on the loop could run, so a crash-looping agent made every control request wait. Here the
fork happens on the launcher's own spawner thread; pipes are then attached to the loop
and the exit is watched through a pidfd (or a waiter thread where pidfds are missing).

The spawner is one thread for the life of the process, on purpose: ``PR_SET_PDEATHSIG``
fires when the *thread* that forked the child ends, so agents must never be forked from a
pool thread that may go away (an executor's idle worker exits once its executor is
garbage-collected, and would take every agent it started with it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures

# Imported now, not lazily on the first ``asyncio.to_thread``: importing it registers
# at-fork hooks around its global lock, and a registration that lands while the spawner
# thread is inside a fork runs the parent's "release" without the "acquire" (the event
# loop then fails with "release unlocked lock"). Every hook must exist before any fork.
import concurrent.futures.thread
import contextlib
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from mimolo.operations.launcher import PR_SET_PDEATHSIG, PRCTL, ContainmentHooks, OsProcess
from mimolo.process_group import signal_group

_READ_LIMIT = 1024 * 1024


def _child_setup(parent_pid: int, join: Callable[[], None]) -> Callable[[], None]:
    """The pre-exec hook: die with the parent (Linux), bail out if it already died, join."""

    def setup() -> None:
        if PRCTL is not None:
            PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)
        join()

    return setup


class _Exit:
    """The exit of one child, learned from a pidfd on the loop or from a waiter thread."""

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._popen = popen
        self._loop = loop
        self.done: asyncio.Future[int] = loop.create_future()
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            threading.Thread(target=self._wait_thread, name="agent-wait", daemon=True).start()
        else:
            loop.add_reader(self._pidfd, self._on_pidfd)

    def _on_pidfd(self) -> None:
        try:
            pid, status = os.waitpid(self._popen.pid, os.WNOHANG)
        except ChildProcessError:  # someone else reaped it: the code is unknown
            pid, status = self._popen.pid, 255 << 8
        if pid == 0:
            return
        self._close_pidfd()
        self._finish(os.waitstatus_to_exitcode(status))

    def _wait_thread(self) -> None:
        code = self._popen.wait()
        with contextlib.suppress(RuntimeError):  # the loop closed first
            self._loop.call_soon_threadsafe(self._finish, code)

    def _finish(self, code: int) -> None:
        self._popen.returncode = code
        if not self.done.done():
            self.done.set_result(code)

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None


class _PipeProcess:
    """``OsProcess`` over a ``Popen`` whose pipes are attached to the event loop."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        stdin: asyncio.StreamWriter,
        exit_: _Exit,
        containment: ContainmentHooks,
        instance_id: str,
    ) -> None:
        self._popen = popen
        self._stdout = stdout
        self._stderr = stderr
        self._stdin = stdin
        self._exit = exit_
        self._containment = containment
        self._instance_id = instance_id

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._exit.done.result() if self._exit.done.done() else None

    async def read_stdout(self, n: int) -> bytes:
        return await self._stdout.read(n)

    async def read_stderr(self, n: int) -> bytes:
        return await self._stderr.read(n)

    def write_stdin(self, data: bytes) -> None:
        if self._stdin.is_closing():
            raise BrokenPipeError("stdin is closed")
        self._stdin.write(data)

    def stdin_buffered(self) -> int:
        return self._stdin.transport.get_write_buffer_size()

    def stdin_closed(self) -> bool:
        return self._stdin.is_closing()

    async def drain_stdin(self) -> None:
        await self._stdin.drain()

    def close_stdin(self) -> None:
        if not self._stdin.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                self._stdin.close()

    async def wait(self) -> int:
        return await asyncio.shield(self._exit.done)

    def signal_group(self, sig: int) -> bool:
        return signal_group(self._popen.pid, sig)

    async def kill_tree(self) -> int:
        return await self._containment.kill_tree(self._instance_id, self._popen.pid)


_Popen = subprocess.Popen[bytes]
_Job = tuple[Callable[[], _Popen], "concurrent.futures.Future[_Popen]"]
_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _serve() -> None:
    while True:
        start, result = _jobs.get()
        if not result.set_running_or_notify_cancel():
            continue
        try:
            result.set_result(start())
        except BaseException as exc:  # handed to the awaiting coroutine
            result.set_exception(exc)


def _on_spawner(start: Callable[[], _Popen]) -> asyncio.Future[_Popen]:
    """Run ``start`` on the process-wide spawner thread (started on first use)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_serve, name="agent-spawner", daemon=True)
            _spawner.start()
    result: concurrent.futures.Future[_Popen] = concurrent.futures.Future()
    _jobs.put((start, result))
    return asyncio.wrap_future(result)


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
        loop = asyncio.get_running_loop()
        hook = _child_setup(os.getpid(), self._containment.child_hook(instance_id))
        popen = await _on_spawner(lambda: _popen(list(argv), dict(env), cwd, hook))
        try:
            self._containment.track(instance_id, popen.pid)
            return await _attach(popen, loop, self._containment, instance_id)
        except BaseException:
            signal_group(popen.pid, signal.SIGKILL)
            raise


def _popen(
    argv: list[str], env: dict[str, str], cwd: Path | None, hook: Callable[[], None]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=hook,
    )


async def _read_end(pipe: IO[bytes], loop: asyncio.AbstractEventLoop) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=_READ_LIMIT, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader


async def _attach(
    popen: subprocess.Popen[bytes],
    loop: asyncio.AbstractEventLoop,
    containment: ContainmentHooks,
    instance_id: str,
) -> _PipeProcess:
    assert popen.stdin is not None and popen.stdout is not None and popen.stderr is not None
    readers = [await _read_end(pipe, loop) for pipe in (popen.stdout, popen.stderr)]
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop)), popen.stdin
    )
    stdin = asyncio.StreamWriter(transport, protocol, None, loop)
    return _PipeProcess(
        popen,
        readers[0],
        readers[1],
        stdin,
        _Exit(popen, loop),
        containment,
        instance_id,
    )


__all__ = ["SubprocessLauncher"]
