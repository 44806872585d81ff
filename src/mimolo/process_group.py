"""Stopping a process group: terminate -> grace -> kill, logging each step.

Everything MiMoLo starts runs in its own session (agents, the agent driver's agent,
reporters, benchmark children), so the group is the unit that is stopped. The sequence is
one policy: each polite signal (SIGTERM unless told otherwise) is sent to the group and
followed by a grace period; if the leader is still alive, SIGKILL, and a bounded wait for it
to be reaped. ``stop_group`` runs that sequence over the signal and wait functions it is
given (the supervisor passes its ``OsProcess``, real or simulated); ``stop_group_sync``
drives the same coroutine with blocking waits, without an event loop.
``stop_asyncio_process`` / ``stop_popen`` run it over a process we started and then kill
whatever the leader left behind in its group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Final, Literal

log = logging.getLogger(__name__)

Ending = Literal["exited", "sigterm", "sigkill"]
"""How a process ended: by itself, on a polite signal, or killed."""

TERMINATE: Final = (signal.SIGTERM,)
KILL_WAIT_S: Final = 10.0  # how long a SIGKILLed leader may take to be reaped

Send = Callable[[signal.Signals], object]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False if nothing is left in it to signal.

    Also after the leader was reaped: its group may still hold descendants, and Linux does
    not hand out a pid that is still some group's id.
    """
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_steps(
    grace_s: float,
    term_signals: Sequence[signal.Signals] = TERMINATE,
    kill_wait_s: float = KILL_WAIT_S,
) -> list[tuple[signal.Signals, float]]:
    """The sequence: each polite signal with ``grace_s`` to exit, then SIGKILL."""
    return [(sig, grace_s) for sig in term_signals] + [(signal.SIGKILL, kill_wait_s)]


def _announce(label: str, pgid: int, sig: signal.Signals, grace_s: float) -> None:
    if sig == signal.SIGKILL:
        log.warning("%s: still alive after %.1fs; SIGKILL", label, grace_s)
    else:
        log.info("%s: %s to process group %d", label, sig.name, pgid)


def _ending(sig: signal.Signals) -> Ending:
    return "sigkill" if sig == signal.SIGKILL else "sigterm"


async def stop_group(
    pgid: int,
    *,
    label: str,
    grace_s: float,
    running: Callable[[], bool],
    wait: Callable[[float], Awaitable[bool]],
    send: Send | None = None,
    term_signals: Sequence[signal.Signals] = TERMINATE,
    kill_wait_s: float = KILL_WAIT_S,
) -> Ending:
    """Run the stop sequence; ``wait(timeout)`` is True once the leader has exited."""
    send = send or partial(signal_group, pgid)
    if not running():
        return "exited"
    for sig, timeout in stop_steps(grace_s, term_signals, kill_wait_s):
        _announce(label, pgid, sig, grace_s)
        send(sig)
        if await wait(timeout):
            return _ending(sig)
    return "sigkill"


def stop_group_sync(
    pgid: int,
    *,
    label: str,
    grace_s: float,
    running: Callable[[], bool],
    wait: Callable[[float], bool],
    send: Send | None = None,
    term_signals: Sequence[signal.Signals] = TERMINATE,
    kill_wait_s: float = KILL_WAIT_S,
) -> Ending:
    """``stop_group`` for callers without an event loop (blocking waits)."""

    async def wait_now(timeout: float) -> bool:
        return wait(timeout)  # blocks; the sequence below never suspends

    sequence = stop_group(
        pgid,
        label=label,
        grace_s=grace_s,
        running=running,
        wait=wait_now,
        send=send,
        term_signals=term_signals,
        kill_wait_s=kill_wait_s,
    )
    try:
        sequence.send(None)
    except StopIteration as done:
        ending: Ending = done.value
        return ending
    sequence.close()
    raise RuntimeError("the stop sequence suspended without an event loop")


async def stop_asyncio_process(
    proc: asyncio.subprocess.Process,
    *,
    label: str,
    grace_s: float,
    kill_wait_s: float = KILL_WAIT_S,
) -> Ending:
    """Stop the group ``proc`` leads (started with ``start_new_session``), stragglers too."""

    async def wait(timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            return False
        return True

    ending = await stop_group(
        proc.pid,
        label=label,
        grace_s=grace_s,
        running=lambda: proc.returncode is None,
        wait=wait,
        kill_wait_s=kill_wait_s,
    )
    signal_group(proc.pid, signal.SIGKILL)  # whatever the leader left in its group
    return ending


def stop_popen(
    proc: subprocess.Popen[Any],
    *,
    label: str,
    grace_s: float,
    term_signals: Sequence[signal.Signals] = TERMINATE,
    kill_wait_s: float = KILL_WAIT_S,
) -> Ending:
    """Stop the group ``proc`` leads (started with ``start_new_session``), stragglers too."""

    def wait(timeout: float) -> bool:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    ending = stop_group_sync(
        proc.pid,
        label=label,
        grace_s=grace_s,
        running=lambda: proc.poll() is None,
        wait=wait,
        term_signals=term_signals,
        kill_wait_s=kill_wait_s,
    )
    signal_group(proc.pid, signal.SIGKILL)  # whatever the leader left in its group
    return ending


__all__ = [
    "KILL_WAIT_S",
    "TERMINATE",
    "Ending",
    "signal_group",
    "stop_asyncio_process",
    "stop_group",
    "stop_group_sync",
    "stop_popen",
    "stop_steps",
]
