"""The virtual loop: time jumps, timeouts, thread work, deadlocks and spins."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from operations.sim.vloop import (
    Deadlock,
    LoopStalled,
    SimulationMisuse,
    VirtualLoop,
    run_simulation,
)


def test_an_hour_of_sleep_takes_no_wall_time() -> None:
    async def main(rng: random.Random) -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(3600)
        return before, loop.time()

    wall = time.monotonic()
    before, after = run_simulation(main, seed=1)
    assert after - before == pytest.approx(3600, abs=1e-6)
    assert time.monotonic() - wall < 10  # a liveness bound, not a speed claim


def test_timers_fire_in_deadline_order_at_their_virtual_times() -> None:
    async def main(rng: random.Random) -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, float]] = []

        async def after(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            fired.append((name, loop.time()))

        async with asyncio.TaskGroup() as tg:
            for name, delay in [("c", 30.0), ("a", 0.5), ("d", 86_400.0 * 3), ("b", 7.25)]:
                tg.create_task(after(name, delay))
        return fired

    fired = run_simulation(main, seed=1)
    assert [n for n, _ in fired] == ["a", "b", "c", "d"]
    assert [t for _, t in fired] == pytest.approx([0.5, 7.25, 30.0, 259_200.0])


def test_asyncio_timeout_fires_at_the_virtual_deadline() -> None:
    async def main(rng: random.Random) -> float:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5.0):
                await asyncio.sleep(100.0)
        return loop.time()

    assert run_simulation(main, seed=1) == pytest.approx(5.0)


def test_thread_work_is_waited_for_and_takes_no_virtual_time() -> None:
    async def main(rng: random.Random) -> tuple[list[str], float, float]:
        loop = asyncio.get_running_loop()
        order: list[str] = []

        async def timer() -> None:
            await asyncio.sleep(0.05)
            order.append("timer")

        def work() -> str:
            time.sleep(0.3)  # real time: the virtual clock must not run past the timer
            return "thread"

        async with asyncio.TaskGroup() as tg:
            tg.create_task(timer())
            before = loop.time()
            order.append(await asyncio.to_thread(work))
            during = loop.time() - before
        return order, during, loop.time()

    order, during, end = run_simulation(main, seed=1)
    assert order == ["thread", "timer"]
    assert during == 0.0
    assert end == pytest.approx(0.05)


def test_a_timeout_around_thread_work_does_not_expire_while_it_runs() -> None:
    def slow() -> int:
        time.sleep(0.2)
        return 7

    async def main(rng: random.Random) -> int:
        async with asyncio.timeout(0.001):
            return await asyncio.to_thread(slow)

    assert run_simulation(main, seed=1) == 7


def test_real_work_holds_the_clock_for_a_plain_thread() -> None:
    async def main(rng: random.Random) -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualLoop)
        future: asyncio.Future[str] = loop.create_future()

        def deliver() -> None:
            time.sleep(0.1)
            loop.call_soon_threadsafe(future.set_result, "from thread")

        with loop.real_work():
            thread = threading.Thread(target=deliver)
            thread.start()
            got = await future
        thread.join()
        return got, loop.time()

    assert run_simulation(main, seed=1) == ("from thread", 0.0)


def test_a_loop_that_can_never_wake_is_a_deadlock_naming_its_tasks() -> None:
    async def wait_forever(event: asyncio.Event) -> None:
        await event.wait()

    async def main(rng: random.Random) -> None:
        event = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(wait_forever(event), name="stuck-waiter")
            await asyncio.sleep(10.0)  # timers still pending: no deadlock yet

    with pytest.raises(Deadlock) as info:
        run_simulation(main, seed=1)
    assert info.value.virtual_time == pytest.approx(10.0)
    assert any(t.startswith("stuck-waiter at ") and "wait_forever" in t for t in info.value.tasks)
    assert any(t.startswith("simulation ") for t in info.value.tasks)
    assert "stuck-waiter" in str(info.value)
    assert info.value.code == "simulation_deadlock"


def test_a_coroutine_that_never_yields_is_reported_with_its_stack() -> None:
    async def spin_on_a_set_event(event: asyncio.Event) -> None:
        while True:  # the bug the supervisor had: a set event returns without yielding
            await event.wait()

    async def main(rng: random.Random) -> None:
        event = asyncio.Event()
        event.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(spin_on_a_set_event(event), name="spinner")

    wall = time.monotonic()
    with pytest.raises(LoopStalled) as info:
        run_simulation(main, seed=1, stall_after_s=1.0)
    assert time.monotonic() - wall < 60
    assert info.value.task.startswith("spinner at ")
    assert "spinning at " in info.value.task
    assert "spin_on_a_set_event" in info.value.stack
    assert "spin_on_a_set_event" in str(info.value)


def test_a_failure_inside_the_simulation_propagates_unchanged() -> None:
    async def main(rng: random.Random) -> None:
        await asyncio.sleep(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_simulation(main, seed=1)


def test_left_over_tasks_are_cancelled_and_the_loop_closed() -> None:
    seen: dict[str, object] = {}

    async def background() -> None:
        try:
            await asyncio.sleep(1e9)
        except asyncio.CancelledError:
            seen["cancelled_at"] = asyncio.get_running_loop().time()
            raise

    async def main(rng: random.Random) -> None:
        seen["loop"] = asyncio.get_running_loop()
        seen["task"] = asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(2)

    run_simulation(main, seed=1)
    loop = seen["loop"]
    assert isinstance(loop, VirtualLoop) and loop.is_closed()
    assert seen["cancelled_at"] == pytest.approx(2.0)


def test_the_seed_makes_a_run_replay_exactly() -> None:
    async def main(rng: random.Random) -> list[tuple[int, float]]:
        loop = asyncio.get_running_loop()
        trace: list[tuple[int, float]] = []

        async def worker(i: int) -> None:
            for _ in range(5):
                await asyncio.sleep(rng.uniform(0, 3))
                trace.append((i, loop.time()))

        async with asyncio.TaskGroup() as tg:
            for i in range(4):
                tg.create_task(worker(i))
        return trace

    assert run_simulation(main, seed=42) == run_simulation(main, seed=42)
    assert run_simulation(main, seed=42) != run_simulation(main, seed=43)


def test_virtual_time_never_goes_back() -> None:
    loop = VirtualLoop(start=5.0)
    try:
        with pytest.raises(SimulationMisuse, match="cannot go back"):
            loop.advance(-1.0)
        assert loop.time() == 5.0
    finally:
        loop.close()


def test_the_watchdog_needs_the_main_thread() -> None:
    errors: list[BaseException] = []

    async def main(rng: random.Random) -> None:
        await asyncio.sleep(1)

    def run() -> None:
        try:
            run_simulation(main, seed=1)
        except SimulationMisuse as exc:
            errors.append(exc)
        assert run_simulation(main, seed=1, stall_after_s=None) is None

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "main thread" in str(errors[0])
