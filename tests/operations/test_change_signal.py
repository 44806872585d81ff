"""A change signal wakes waiters on a real change and never lets a waiter spin."""

from __future__ import annotations

import asyncio

import pytest

from mimolo.operations.change_signal import ChangeSignal

pytestmark = pytest.mark.anyio


async def test_waiter_wakes_when_the_predicate_holds() -> None:
    signal = ChangeSignal()
    state = {"v": "starting"}

    async def change_later() -> None:
        for value in ("starting", "starting", "running"):
            await asyncio.sleep(0.01)
            state["v"] = value
            signal.notify()

    task = asyncio.create_task(change_later())
    assert await signal.wait_for(lambda: state["v"] == "running", timeout_s=30)
    await task
    assert signal.version == 3


async def test_notifies_that_do_not_satisfy_the_predicate_do_not_spin() -> None:
    """The freeze of issue 13: a notify without the awaited change must put the waiter back
    to sleep, so other tasks keep running; counted by how often the waiter's predicate runs."""
    signal = ChangeSignal()
    checks = 0
    done = False

    def predicate() -> bool:
        nonlocal checks
        checks += 1
        return done

    waiter = asyncio.create_task(signal.wait_for(predicate, timeout_s=30))
    await asyncio.sleep(0)
    for _ in range(5):
        signal.notify()  # e.g. a line arrived, the state did not settle
        await asyncio.sleep(0)
    assert checks <= 6  # once at start, at most once per notify
    done = True
    signal.notify()
    assert await waiter


async def test_timeout_answers_false_and_rechecks() -> None:
    signal = ChangeSignal()
    assert not await signal.wait_for(lambda: False, timeout_s=0.01)
    assert await signal.wait_for(lambda: True, timeout_s=0)
