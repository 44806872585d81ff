"""An in-memory OS for supervision: a ``Launcher`` whose processes are fake agents on the loop.

``FakeLauncher`` implements ``mimolo.operations.launcher.Launcher`` (mode ``"simulated"``);
each ``spawn`` returns a ``FakeProcess`` (an ``OsProcess``) whose pipes are bounded byte
buffers and whose body is a ``FakeAgent`` task owned by the launcher's task group. Every
process is kept, with the commands it received, the signals it got and whether it was
killed, so a test can ask what happened and whether anything is still alive.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import random
import signal
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from mimolo.protocol.commands import AgentCommand

from .fake_agent import Behaviour, FakeAgent
from .vloop import SimulationMisuse

PIPE_CAPACITY = 64 * 1024  # a Linux pipe
STDIN_HIGH_WATER = 64 * 1024  # asyncio's default write-buffer high-water mark


class BytePipe:
    """One direction of a pipe: writes keep their chunk boundaries, a full pipe blocks.

    With ``coalesce`` a read takes everything buffered (up to ``n``), as a real pipe does;
    without it a read returns at most one written chunk, so a test decides what arrives
    together. Every wait is on a fresh future, re-checked after each change: none can spin.
    """

    def __init__(self, *, capacity: int = PIPE_CAPACITY, coalesce: bool = True) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._capacity = capacity
        self._coalesce = coalesce
        self._eof = False  # the writer closed
        self._broken = False  # the reader is gone
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def buffered(self) -> int:
        return self._size

    @property
    def eof(self) -> bool:
        return self._eof

    @property
    def broken(self) -> bool:
        return self._broken

    def _changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _append(self, data: bytes) -> None:
        if self._broken:
            raise BrokenPipeError(errno.EPIPE, "the other end of the pipe is closed")
        if self._eof:
            raise SimulationMisuse("write after the writer closed the pipe")
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)
            self._changed()

    def write_nowait(self, data: bytes) -> None:
        """Append without waiting (stdin: the transport buffers); raises once the reader left."""
        self._append(data)

    async def write(self, data: bytes) -> None:
        """Append, first waiting while the pipe is full (a writer blocks like on a real pipe)."""
        await self._until(lambda: self._size < self._capacity or self._broken or self._eof)
        if self._eof and not self._broken:
            return  # its own process exited while it waited: the bytes die with it
        self._append(data)

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` once the writer closed and everything was read."""
        if n <= 0:
            raise ValueError(f"read size must be positive, not {n}")
        await self._until(lambda: bool(self._chunks) or self._eof)
        out = bytearray()
        while self._chunks and len(out) < n:
            chunk = self._chunks.popleft()
            take = chunk[: n - len(out)]
            if len(take) < len(chunk):
                self._chunks.appendleft(chunk[len(take) :])
            out += take
            if not self._coalesce:
                break
        self._size -= len(out)
        self._changed()
        return bytes(out)

    async def drain(self, high_water: int) -> None:
        """Until at most ``high_water`` bytes wait; raises once the reader is gone."""
        await self._until(lambda: self._size <= high_water or self._broken)
        if self._broken:
            raise BrokenPipeError(errno.EPIPE, "the reader closed the pipe")

    def close(self) -> None:
        """The writer's end closes: the reader sees EOF after what is buffered."""
        self._eof = True
        self._changed()

    def break_reader(self) -> None:
        """The reader's end closes (its process died): writers fail, buffered bytes are lost."""
        self._broken = True
        self._chunks.clear()
        self._size = 0
        self._changed()


class FakeProcess:
    """One simulated agent process (``OsProcess``): pipes, signals, exit, descendants."""

    def __init__(
        self,
        *,
        pid: int,
        instance_id: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        behaviour: Behaviour,
        rng: random.Random,
    ) -> None:
        self.instance_id = instance_id
        self.argv = list(argv)
        self.env = dict(env)
        self.behaviour = behaviour
        self.stdout = BytePipe(coalesce=behaviour.coalesce_reads)
        self.stderr = BytePipe(coalesce=behaviour.coalesce_reads)
        self.stdin = BytePipe(capacity=1 << 62)  # the transport's buffer has no hard cap
        self.commands: list[AgentCommand] = []
        self.signals: list[int] = []
        self.written: Counter[str] = Counter()  # complete lines put on stdout, by type
        self.summaries: list[int] = []  # ``data.n`` of each complete summary line
        self.killed = False  # SIGKILL or kill_tree reached it
        self.descendants = behaviour.escaped_children  # alive, outside the process group
        loop = asyncio.get_running_loop()
        self.spawned_at = loop.time()
        self.exited_at: float | None = None
        self._pid = pid
        self._returncode: int | None = None
        self._exited = loop.create_future()
        self._task: asyncio.Task[None] | None = None
        self.agent = FakeAgent(self, rng)

    # ---- OsProcess ------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        return self._returncode

    async def read_stdout(self, n: int) -> bytes:
        return await self.stdout.read(n)

    async def read_stderr(self, n: int) -> bytes:
        return await self.stderr.read(n)

    def write_stdin(self, data: bytes) -> None:
        self.stdin.write_nowait(data)

    def stdin_buffered(self) -> int:
        return self.stdin.buffered

    def stdin_closed(self) -> bool:
        return self.stdin.eof or self.stdin.broken

    async def drain_stdin(self) -> None:
        if self.stdin_closed():
            raise BrokenPipeError(errno.EPIPE, "stdin is closed")
        await self.stdin.drain(STDIN_HIGH_WATER)

    def close_stdin(self) -> None:
        self.stdin.close()

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def signal_group(self, sig: int) -> bool:
        if self._returncode is not None:
            return False  # escaped descendants are not in the group
        self.signals.append(sig)
        if sig == signal.SIGKILL:
            self.killed = True
            self.exit(-signal.SIGKILL)
        else:
            self.agent.on_signal(sig)
        return True

    async def kill_tree(self) -> int:
        await asyncio.sleep(0)
        count = self.descendants
        self.descendants = 0
        if self._returncode is None:
            self.killed = True
            self.exit(-signal.SIGKILL)
            count += 1
        return count

    # ---- the simulation's side ------------------------------------------------------

    @property
    def alive(self) -> bool:
        """The agent or anything it started still runs."""
        return self._returncode is None or self.descendants > 0

    def exit(self, code: int) -> None:
        """The agent process ends: pipes close, output already written stays readable."""
        if self._returncode is not None:
            return
        self._returncode = code
        self.exited_at = asyncio.get_running_loop().time()
        self.stdout.close()
        self.stderr.close()
        self.stdin.break_reader()
        self._exited.set_result(code)
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the agent's body (and its helpers) stop at their next await

    async def _main(self) -> None:
        try:
            await self.agent.run()
        except asyncio.CancelledError:
            if self._returncode is None:
                raise  # cancelled from outside (the launcher closing), not an exit
            return
        self.exit(0)  # the agent's body returned: a normal exit

    def start(self, tg: asyncio.TaskGroup) -> None:
        self._task = tg.create_task(self._main(), name=f"fake-agent {self.instance_id}:{self.pid}")

    def __repr__(self) -> str:
        state = "alive" if self._returncode is None else f"exit {self._returncode}"
        names = [type(c).__name__ for c in self.commands]
        return (
            f"<FakeProcess {self.instance_id} pid={self.pid} {state} killed={self.killed} "
            f"descendants={self.descendants} commands={names}>"
        )


BehaviourFor = Callable[[str, int], Behaviour]
"""Which behaviour the ``n``-th (0-based) spawn of an instance gets."""


class FakeLauncher:
    """A ``Launcher`` of fake agents; use as ``async with FakeLauncher(...) as launcher``.

    The launcher's task group owns every agent task. Leaving it kills what is still alive
    (recorded in ``leaked``) so a failing test never leaves tasks behind.
    """

    mode = "simulated"

    def __init__(
        self,
        behaviours: BehaviourFor | Mapping[str, Behaviour] | None = None,
        *,
        rng: random.Random,
        first_pid: int = 40_000,
    ) -> None:
        if behaviours is None:
            self._behaviour_for: BehaviourFor = lambda iid, n: Behaviour()
        elif isinstance(behaviours, Mapping):
            table = dict(behaviours)
            self._behaviour_for = lambda iid, n: table.get(iid, Behaviour())
        else:
            self._behaviour_for = behaviours
        self._rng = rng
        self._pids = itertools.count(first_pid)
        self._tg: asyncio.TaskGroup | None = None
        self.processes: list[FakeProcess] = []
        self.failed_spawns: list[str] = []
        self.leaked: list[FakeProcess] = []

    async def __aenter__(self) -> FakeLauncher:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None
        for proc in self.live():
            self.leaked.append(proc)
            await proc.kill_tree()
        tg, self._tg = self._tg, None
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            await tg.__aexit__(exc_type, exc, tb)  # the group's own cancellation bookkeeping
        else:
            await tg.__aexit__(None, None, None)  # a body's failure propagates unwrapped

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None,
        instance_id: str,
    ) -> FakeProcess:
        if self._tg is None:
            raise SimulationMisuse("FakeLauncher.spawn outside `async with FakeLauncher(...)`")
        if not argv:
            raise ValueError("argv must name a program")
        n = sum(1 for p in self.processes if p.instance_id == instance_id)
        n += self.failed_spawns.count(instance_id)
        behaviour = self._behaviour_for(instance_id, n)
        await asyncio.sleep(behaviour.spawn_delay_s)
        if behaviour.spawn_error:
            self.failed_spawns.append(instance_id)
            raise FileNotFoundError(errno.ENOENT, "simulated: no such executable", argv[0])
        proc = FakeProcess(
            pid=next(self._pids),
            instance_id=instance_id,
            argv=argv,
            env=env,
            behaviour=behaviour,
            rng=random.Random(self._rng.getrandbits(64)),
        )
        self.processes.append(proc)
        proc.start(self._tg)
        return proc

    def live(self) -> list[FakeProcess]:
        """Processes (or their descendants) still running: after ``stop_all``, orphans."""
        return [p for p in self.processes if p.alive]

    def spawned(self, instance_id: str) -> list[FakeProcess]:
        return [p for p in self.processes if p.instance_id == instance_id]


__all__ = [
    "PIPE_CAPACITY",
    "STDIN_HIGH_WATER",
    "BehaviourFor",
    "BytePipe",
    "FakeLauncher",
    "FakeProcess",
]
