"""The OS edge of supervision: how an agent process is started, read, written and signalled.

The supervisor never starts a process or sends a signal itself: it is handed a
``Launcher`` and talks to each agent through the ``OsProcess`` it returns. The real
launcher (``subprocess_launcher.SubprocessLauncher``) starts every agent in its own
session with ``PR_SET_PDEATHSIG`` under the data root's ``Containment``; simulation tests
pass a scripted in-memory launcher and drive every interleaving on a virtual clock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from mimolo.process_group import signal_group

PR_SET_PDEATHSIG = 1


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


class GroupOnly:
    """The least containment: the agent's process group, nothing recorded."""

    mode = "process_group"

    def child_hook(self, instance_id: str) -> Callable[[], None]:
        return _no_op

    def track(self, instance_id: str, pid: int) -> None:
        return None

    async def kill_tree(self, instance_id: str, pid: int) -> int:
        signal_group(pid, signal.SIGKILL)
        return 0


def _no_op() -> None:
    return None


__all__ = ["PRCTL", "PR_SET_PDEATHSIG", "ContainmentHooks", "GroupOnly", "Launcher", "OsProcess"]
