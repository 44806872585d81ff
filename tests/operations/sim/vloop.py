"""A virtual-time asyncio loop: timers fire at once, deadlocks and spins are errors.

The idea is Trio's autojump clock. ``loop.time()`` is virtual; when the loop would block in
``select`` with nothing ready and no thread work in flight, virtual time jumps straight to
the next timer, so a day of timeouts runs in milliseconds and in the same order every time.
Thread work (``run_in_executor`` / ``asyncio.to_thread``) takes no virtual time: while any is
in flight the loop does a real ``select`` and the clock stands still. A loop with nothing
scheduled, nothing in flight and nothing ready can never wake again: that is a ``Deadlock``.
A callback that never returns to the loop (``while ...: await already_set_event.wait()``) is
caught by ``run_simulation``'s watchdog and reported as ``LoopStalled`` with its stack.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import contextlib
import os
import random
import selectors
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import Any, TypeVar

from mimolo.errors import MimoloError

T = TypeVar("T")

VIRTUAL_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The wall time at virtual 0.0 (pass to ``LoopClock(virtual_epoch=...)``)."""


class SimulationFailure(MimoloError):
    """The simulated loop could not go on (moved to ``mimolo.errors`` later)."""

    code = "simulation_failure"


class Deadlock(SimulationFailure):
    """Nothing is scheduled, nothing in flight, nothing ready: the loop would block forever."""

    code = "simulation_deadlock"

    def __init__(self, virtual_time: float, tasks: list[str]) -> None:
        listing = "\n  ".join(tasks) or "(no tasks)"
        super().__init__(
            f"deadlock at virtual t={virtual_time:.3f}s: no timer, no thread work and no I/O "
            f"can wake the loop; {len(tasks)} task(s) wait forever:\n  {listing}"
        )
        self.virtual_time = virtual_time
        self.tasks = tasks


class LoopStalled(SimulationFailure):
    """One callback ran for ``stall_after_s`` wall seconds without returning to the loop."""

    code = "simulation_stalled"

    def __init__(self, stalled_s: float, task: str, stack: str) -> None:
        super().__init__(
            f"the event loop made no progress for {stalled_s:.1f}s (wall): task {task} never "
            f"yields (a wait that spins?). Its stack when the watchdog fired:\n{stack}"
        )
        self.stalled_s = stalled_s
        self.task = task
        self.stack = stack


class SimulationMisuse(SimulationFailure):
    """The simulation was asked for something it cannot do."""

    code = "simulation_misuse"


def describe_task(task: asyncio.Task[Any]) -> str:
    """``name at file:line in function`` of where a task is suspended (or running)."""
    frames = task.get_stack()
    if not frames:
        return f"{task.get_name()} ({task.get_coro()!r})"
    top = frames[-1]
    code = top.f_code
    return f"{task.get_name()} at {code.co_filename}:{top.f_lineno} in {code.co_name}"


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the real selector: a blocking select with nothing real to wait for jumps time."""

    def __init__(self, loop: VirtualLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        loop.iterations += 1
        # Read the in-flight count before polling: a finished job queued its result (and
        # wrote the self-pipe) before it decremented, so the poll below sees that result.
        busy = loop.in_flight() > 0
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if busy:
            loop.waiting_for_real_work = True
            try:
                return self._real.select(None)
            finally:
                loop.waiting_for_real_work = False
        if timeout is None:
            raise loop.deadlock()
        loop.advance(timeout)
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """A selector loop whose ``time()`` is virtual and jumps to the next timer when idle."""

    def __init__(self, *, seed: int = 0, start: float = 0.0) -> None:
        self._vtime = start
        self._in_flight = 0
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.iterations = 0
        self.waiting_for_real_work = False
        self.rng = random.Random(seed)
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self._vtime

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (the loop does this itself when it would block)."""
        if seconds < 0:
            raise SimulationMisuse(f"virtual time cannot go back ({seconds}s)")
        self._vtime += seconds

    def in_flight(self) -> int:
        """Thread jobs (and ``real_work`` holds) the clock is waiting for."""
        with self._lock:
            return self._in_flight

    @contextlib.contextmanager
    def real_work(self) -> Iterator[None]:
        """Hold virtual time while something outside the loop (not an executor) will wake it."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            self._done_one()

    def _done_one(self, _: object = None) -> None:
        with self._lock:
            self._in_flight -= 1
        if not self.is_closed():
            with contextlib.suppress(RuntimeError):  # closed between check and call
                self.call_soon_threadsafe(lambda: None)  # wake a real select

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., T],
        *args: Any,
    ) -> asyncio.Future[T]:
        """Like the base loop, but every job is counted until its result is queued."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if executor is None:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="vloop")
            executor = self._executor
        job = executor.submit(func, *args)
        with self._lock:
            self._in_flight += 1
        future = asyncio.wrap_future(job, loop=self)  # its done-callback is registered first
        job.add_done_callback(self._done_one)
        return future

    def set_default_executor(self, executor: concurrent.futures.ThreadPoolExecutor) -> None:  # type: ignore[override]
        self._executor = executor

    def deadlock(self) -> Deadlock:
        pending = [t for t in asyncio.all_tasks(self) if not t.done()]
        return Deadlock(self._vtime, sorted(describe_task(t) for t in pending))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        super().close()


class _StallInterrupt(KeyboardInterrupt):
    """Raised in the spinning callback; a KeyboardInterrupt so asyncio lets it out of the loop."""


class _Watchdog:
    """A thread that interrupts the main thread when the loop's iteration count stops moving."""

    def __init__(self, loop: VirtualLoop, stall_after_s: float) -> None:
        self._loop = loop
        self._stall_after_s = stall_after_s
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="vloop-watchdog", daemon=True)
        self.fired: LoopStalled | None = None
        self.delivered = False
        self.armed = True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self.armed = False
        self._stop.set()
        self._thread.join()
        if self.fired is not None:  # let a pending interrupt reach our handler, not pytest's
            deadline = time.monotonic() + 2.0
            while not self.delivered and time.monotonic() < deadline:
                time.sleep(0.001)

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.fired is None:
            raise KeyboardInterrupt  # a real Ctrl-C
        self.delivered = True
        if self.armed:
            raise _StallInterrupt

    def _watch(self) -> None:
        poll = min(0.1, self._stall_after_s / 10)
        last, since = -1, time.monotonic()
        while not self._stop.wait(poll):
            with self._lock:
                now = time.monotonic()
                seen = self._loop.iterations
                if not self.armed or self.fired is not None:
                    continue
                if seen != last or self._loop.waiting_for_real_work:
                    last, since = seen, now
                    continue
                if now - since < self._stall_after_s:
                    continue
                task = asyncio.current_task(self._loop)
                frame = sys._current_frames().get(self._main or 0)
                stack = "".join(traceback.format_stack(frame)) if frame else "(no frame)"
                name = describe_task(task) if task is not None else "(no task)"
                self.fired = LoopStalled(now - since, name, stack)
                _thread.interrupt_main()


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)


def _from_interrupt(sample: LoopStalled, exc: BaseException) -> LoopStalled:
    """The stall with the stack the interrupt unwound (read on the main thread: exact).

    A frame sampled from the watchdog thread can come without its callers; the traceback
    of the interrupt always reaches from the loop down to the spinning line.
    """
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename != __file__  # our own handler and runner
    ]
    spots = [f for f in frames if not f.filename.startswith(_ASYNCIO_DIR)]
    task = sample.task
    if spots:
        spot = spots[-1]
        task += f", spinning at {spot.filename}:{spot.lineno} in {spot.name}"
    return LoopStalled(sample.stalled_s, task, "".join(traceback.format_list(frames)))


def _drain(loop: VirtualLoop) -> None:
    """Cancel what is left and let it unwind (bounded: a task may refuse to die)."""
    for _ in range(5):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        with contextlib.suppress(_StallInterrupt, Deadlock):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for task in asyncio.all_tasks(loop):
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" noise for a failure we report
    with contextlib.suppress(_StallInterrupt, Deadlock):
        loop.run_until_complete(loop.shutdown_asyncgens())


def run_simulation(
    coro_factory: Callable[[random.Random], Coroutine[Any, Any, T]],
    *,
    seed: int,
    stall_after_s: float | None = 10.0,
    start: float = 0.0,
) -> T:
    """Run ``coro_factory(rng)`` to completion on a fresh virtual loop, then close it.

    ``rng`` is the loop's ``random.Random(seed)``: draw every random choice from it and a
    run replays exactly. Raises ``Deadlock`` or ``LoopStalled`` (after ``stall_after_s``
    wall seconds without a loop iteration; ``None`` disables the watchdog, which needs the
    main thread).
    """
    watch = stall_after_s is not None
    if watch and threading.current_thread() is not threading.main_thread():
        raise SimulationMisuse("the stall watchdog interrupts the main thread: run there")
    loop = VirtualLoop(seed=seed, start=start)
    dog = _Watchdog(loop, stall_after_s or 0.0)
    previous = signal.getsignal(signal.SIGINT)
    if watch:
        signal.signal(signal.SIGINT, dog.on_sigint)
        dog.start()
    stalled = False
    try:
        main = loop.create_task(coro_factory(loop.rng), name="simulation")
        try:
            result = loop.run_until_complete(main)
        except _StallInterrupt as exc:
            assert dog.fired is not None
            dog.fired = _from_interrupt(dog.fired, exc)
            stalled = True
        finally:
            _drain(loop)
    finally:
        if watch:
            dog.stop()
            signal.signal(signal.SIGINT, previous)
        loop.close()
    if dog.fired is not None:  # also when it stalled, then finished before the interrupt
        raise dog.fired from None
    assert not stalled
    return result


__all__ = [
    "VIRTUAL_EPOCH",
    "Deadlock",
    "LoopStalled",
    "SimulationFailure",
    "SimulationMisuse",
    "VirtualLoop",
    "describe_task",
    "run_simulation",
]
