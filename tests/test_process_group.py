"""The one process-group stop: terminate -> grace -> kill, each step logged.

The sequence is checked on a scripted process (no sleeping, both forms), then on real
process groups: a leader that exits on SIGTERM, one that ignores it, and stragglers left in
the group after the leader is gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from mimolo.process_group import (
    KILL_WAIT_S,
    Ending,
    signal_group,
    stop_asyncio_process,
    stop_group,
    stop_group_sync,
    stop_popen,
    stop_steps,
)

WAIT = 30.0
Popen = subprocess.Popen[bytes]


@dataclass
class Scripted:
    """A process that exits on the signals in ``dies_on``; records what it was sent."""

    dies_on: frozenset[int] = frozenset()
    alive: bool = True
    sent: list[int] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)

    def send(self, sig: int) -> bool:
        self.sent.append(sig)
        if sig in self.dies_on:
            self.alive = False
        return True

    def wait_sync(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return not self.alive

    async def wait(self, timeout: float) -> bool:
        return self.wait_sync(timeout)


def run_both(proc: Scripted, **options: Any) -> tuple[Ending, Ending]:
    """The same scripted stop through the async and the sync form."""
    twin = Scripted(proc.dies_on, proc.alive)
    options = {"label": "x", "grace_s": 2.0, **options}
    ending = asyncio.run(
        stop_group(7, running=lambda: proc.alive, wait=proc.wait, send=proc.send, **options)
    )
    ending_sync = stop_group_sync(
        7, running=lambda: twin.alive, wait=twin.wait_sync, send=twin.send, **options
    )
    assert (twin.sent, twin.waits) == (proc.sent, proc.waits)
    return ending, ending_sync


def test_the_steps_are_the_polite_signals_then_sigkill() -> None:
    assert stop_steps(2.0) == [(signal.SIGTERM, 2.0), (signal.SIGKILL, KILL_WAIT_S)]
    steps = stop_steps(1.0, (signal.SIGINT, signal.SIGTERM), 3.0)
    assert steps == [(signal.SIGINT, 1.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 3.0)]


def test_a_process_that_already_exited_is_not_signalled() -> None:
    proc = Scripted(alive=False)
    assert run_both(proc) == ("exited", "exited")
    assert proc.sent == [] and proc.waits == []


def test_sigterm_then_the_grace(caplog: pytest.LogCaptureFixture) -> None:
    proc = Scripted(frozenset({signal.SIGTERM}))
    with caplog.at_level(logging.INFO, logger="mimolo.process_group"):
        assert run_both(proc, label="agent a") == ("sigterm", "sigterm")
    assert proc.sent == [signal.SIGTERM] and proc.waits == [2.0]
    assert caplog.messages == ["agent a: SIGTERM to process group 7"] * 2


def test_sigkill_after_the_grace_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    proc = Scripted(frozenset({signal.SIGKILL}))
    with caplog.at_level(logging.INFO, logger="mimolo.process_group"):
        assert run_both(proc, label="agent a", grace_s=1.5) == ("sigkill", "sigkill")
    assert proc.sent == [signal.SIGTERM, signal.SIGKILL]
    assert proc.waits == [1.5, KILL_WAIT_S]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["agent a: still alive after 1.5s; SIGKILL"] * 2


def test_an_unkillable_process_still_ends_the_sequence() -> None:
    proc = Scripted()
    assert run_both(proc, kill_wait_s=0.5) == ("sigkill", "sigkill")
    assert proc.sent == [signal.SIGTERM, signal.SIGKILL] and proc.waits == [2.0, 0.5]


def test_several_polite_signals_each_get_the_grace() -> None:
    proc = Scripted(frozenset({signal.SIGTERM}))
    endings = run_both(proc, term_signals=(signal.SIGINT, signal.SIGTERM))
    assert endings == ("sigterm", "sigterm")
    assert proc.sent == [signal.SIGINT, signal.SIGTERM] and proc.waits == [2.0, 2.0]


# ---- real process groups ---------------------------------------------------------------

IGNORE_TERM = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
READY = "print('ready', flush=True)\ntime.sleep(600)\n"
# The leader starts a child in its group that ignores SIGTERM, then waits to be stopped.
WITH_STRAGGLER = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {IGNORE_TERM + READY!r}], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def popen(script: str, cleanup: list[Popen]) -> tuple[Popen, bytes]:
    """Start ``script`` in its own session; its first line says it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True
    )
    cleanup.append(proc)
    assert proc.stdout is not None
    return proc, proc.stdout.readline()


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for its parent counts as ended)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def cleanup() -> Iterator[list[Popen]]:
    """Processes a test started; their groups are killed and reaped afterwards."""
    procs: list[Popen] = []
    yield procs
    for proc in procs:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        if proc.stdout is not None:
            proc.stdout.close()


def test_popen_that_exits_on_sigterm(cleanup: list[Popen]) -> None:
    proc, _ = popen("import time\n" + READY, cleanup)
    assert stop_popen(proc, label="t", grace_s=WAIT) == "sigterm"
    assert proc.returncode == -signal.SIGTERM


def test_popen_that_ignores_sigterm_is_killed(cleanup: list[Popen]) -> None:
    proc, _ = popen(IGNORE_TERM + READY, cleanup)
    assert stop_popen(proc, label="t", grace_s=0.3) == "sigkill"
    assert proc.returncode == -signal.SIGKILL


def test_popen_already_exited(cleanup: list[Popen]) -> None:
    proc, _ = popen("print('bye')\n", cleanup)
    proc.wait(timeout=WAIT)
    assert stop_popen(proc, label="t", grace_s=WAIT) == "exited"
    assert proc.returncode == 0


def test_stragglers_left_in_the_group_are_killed(
    cleanup: list[Popen],
) -> None:
    proc, line = popen(WITH_STRAGGLER, cleanup)
    straggler = int(line)
    assert stop_popen(proc, label="t", grace_s=WAIT) == "sigterm"
    assert gone(straggler)


def test_signal_group_says_when_nothing_is_left(
    cleanup: list[Popen],
) -> None:
    proc, _ = popen("print('bye')\n", cleanup)
    proc.wait(timeout=WAIT)
    assert signal_group(proc.pid, 0) is False
    assert signal_group(os.getpgid(0), 0) is True


async def _asyncio_stop(script: str, grace_s: float) -> tuple[Ending, int | None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    try:
        await proc.stdout.readline()
        ending = await stop_asyncio_process(proc, label="t", grace_s=grace_s)
        return ending, proc.returncode
    finally:
        signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()


@pytest.mark.parametrize(
    ("script", "grace_s", "expected"),
    [
        ("import time\n" + READY, WAIT, ("sigterm", -signal.SIGTERM)),
        (IGNORE_TERM + READY, 0.3, ("sigkill", -signal.SIGKILL)),
    ],
)
def test_asyncio_process(script: str, grace_s: float, expected: Sequence[object]) -> None:
    assert asyncio.run(_asyncio_stop(script, grace_s)) == tuple(expected)
