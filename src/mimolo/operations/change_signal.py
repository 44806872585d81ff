"""A wait that cannot spin: "tell me when this state changes" for the supervisor's loop.

``asyncio.Event`` reused across changes is a freeze: once set, ``wait()`` returns at once
forever and a ``while not done: await event.wait()`` loop never yields again. Here every
``notify`` wakes the waiters of the current generation and starts a fresh one, and waiting
always takes a predicate and a deadline, so a waiter sleeps until something really changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ChangeSignal:
    """Wake-ups for one piece of state; ``notify`` on every change."""

    __slots__ = ("_event", "version")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        """The state changed: wake everyone waiting now; later waiters wait for the next."""
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Until ``predicate()`` holds (True) or ``timeout_s`` passed (False)."""
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                while not predicate():
                    await self._event.wait()
        except TimeoutError:
            return predicate()
        return True


__all__ = ["ChangeSignal"]
