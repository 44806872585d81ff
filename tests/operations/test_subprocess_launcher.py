"""Real agent processes started off the event loop: pipes, exit codes, signals, lifetime."""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys

import psutil
import pytest

from mimolo.operations.launcher import GroupOnly
from mimolo.operations.subprocess_launcher import SubprocessLauncher

pytestmark = pytest.mark.anyio

ECHO = (
    "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper()); sys.stdout.flush()\n"
)


async def test_pipes_both_ways_and_the_exit_code() -> None:
    proc = await SubprocessLauncher(GroupOnly()).spawn(
        [sys.executable, "-c", ECHO + "sys.stderr.write('bye'); sys.exit(7)"],
        env={},
        cwd=None,
        instance_id="t",
    )
    proc.write_stdin(b"hello\n")
    await proc.drain_stdin()
    assert await asyncio.wait_for(proc.read_stdout(100), 30) == b"HELLO\n"
    proc.close_stdin()
    assert proc.stdin_closed()
    assert await asyncio.wait_for(proc.wait(), 30) == 7
    assert proc.returncode == 7
    assert await asyncio.wait_for(proc.read_stdout(100), 30) == b""
    assert await asyncio.wait_for(proc.read_stderr(100), 30) == b"bye"
    with pytest.raises(BrokenPipeError):
        proc.write_stdin(b"late\n")


async def test_a_signal_gives_a_negative_exit_code() -> None:
    proc = await SubprocessLauncher(GroupOnly()).spawn(
        [sys.executable, "-c", "import time; time.sleep(600)"], env={}, cwd=None, instance_id="t"
    )
    assert proc.signal_group(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGTERM


async def test_an_agent_outlives_the_launcher_object_that_started_it() -> None:
    """The parent-death signal follows the forking *thread*: forking from a thread that
    ends with its launcher would kill every agent once the launcher is collected."""
    proc = await SubprocessLauncher(GroupOnly()).spawn(
        [sys.executable, "-c", "import time; time.sleep(600)"], env={}, cwd=None, instance_id="t"
    )
    gc.collect()
    await asyncio.sleep(1.0)
    assert proc.returncode is None
    assert psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE
    proc.signal_group(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL


async def test_a_missing_executable_is_an_oserror() -> None:
    with pytest.raises(FileNotFoundError):
        await SubprocessLauncher(GroupOnly()).spawn(
            ["/nonexistent/agent"], env={}, cwd=None, instance_id="t"
        )


def test_at_fork_hooks_are_registered_before_the_first_spawn() -> None:
    """A module registering at-fork hooks while the spawner forks leaves a lock released
    that the event loop holds; the launcher imports them before it can fork."""
    code = (
        "import sys\n"
        "import mimolo.operations.subprocess_launcher\n"
        "sys.exit(0 if 'concurrent.futures.thread' in sys.modules else 1)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
