"""Containment: every descendant of an agent is Operations' to end (DESIGN §4, issue 13).

Modes, best first: ``cgroup_v2`` (a cgroup per instance under ``<our cgroup>/mimolo-<hash>``;
``cgroup.kill`` ends the whole tree, ``setsid`` or not), ``subreaper`` (Operations is a
child subreaper, so orphans re-parent to it) and ``process_group``. In every mode a pid
record with start times and the agents' ``MIMOLO_INSTANCE_ID`` / ``MIMOLO_DATA_DIR``
environment attribute what is left, so it is ended (identity-checked) on stop, by the
guardian when Operations dies, and on the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final

import psutil

from mimolo.dataroot import DataRoot, open_private
from mimolo.errors import ContainmentError
from mimolo.operations.containment_cgroup import CgroupTree
from mimolo.operations.containment_record import PidEntry, PidRecord, identity
from mimolo.operations.containment_scan import (
    ENV_GUARDIAN,
    ENV_INSTANCE_ID,
    RootMatch,
    Seen,
    children_map,
    descendants,
    norm,
    scan,
)

log = logging.getLogger(__name__)

MODES: Final = ("cgroup_v2", "subreaper", "process_group")
_PR_SET_CHILD_SUBREAPER: Final = 36
_PR_GET_CHILD_SUBREAPER: Final = 37
_KILL_DEADLINE_S: Final = 10.0  # how long a SIGKILLed tree may take to disappear
_POLL_S: Final = 0.02
_MAX_ROUNDS: Final = 20  # scan/stop rounds, so a forking tree cannot outrun the sweep
_GONE: Final = (psutil.Error, ProcessLookupError)  # vanished, or not ours to touch


def root_hash(data_root: DataRoot) -> str:
    """A short stable name for the data root (names its cgroup subtree)."""
    return hashlib.sha256(norm(str(data_root.root)).encode()).hexdigest()[:12]


def _noop() -> None:
    return None


def _prctl() -> Callable[..., int] | None:
    # Imported late: the launcher pulls in asyncio, which would cost the guardian 8 MB.
    from mimolo.operations.launcher import PRCTL

    return PRCTL


def _subreaper_flag() -> int | None:
    PRCTL = _prctl()
    if PRCTL is None:
        return None
    value = ctypes.c_int(0)
    if PRCTL(_PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return None
    return value.value


class Containment:
    """Puts agents under the best containment available and ends whatever they leave."""

    def __init__(self, data_root: DataRoot, mode: str, cgroups: CgroupTree | None) -> None:
        self._root = data_root
        self._mode = mode
        self._cgroups = cgroups
        self._record = PidRecord.load(data_root.operations_dir / "containment.json")
        self._agents: dict[str, set[int]] = {}  # asyncio reaps these, never us
        self._retired: set[int] = set()  # agents untracked, maybe not yet reaped by asyncio
        self._ours = RootMatch(str(data_root.root))
        self._set_subreaper = False
        self._guardian: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, data_root: DataRoot, *, mode: str | None = None) -> Containment:
        """The best mode available (or ``mode``, raising ``ContainmentError`` if unavailable)."""
        if mode is not None and mode not in MODES:
            raise ContainmentError(
                f"unknown containment mode {mode!r} (one of {', '.join(MODES)})",
                code="containment_invalid_mode",
            )
        tree = CgroupTree.for_us(f"mimolo-{root_hash(data_root)}")
        cgroups = tree if isinstance(tree, CgroupTree) else None
        if mode in (None, "cgroup_v2"):
            problem = tree if isinstance(tree, str) else tree.prepare()
            if problem is None:
                return cls(data_root, "cgroup_v2", cgroups)
            if mode == "cgroup_v2":
                raise ContainmentError(f"cgroup_v2 containment is unavailable: {problem}")
            log.info("containment: no cgroup v2 subtree (%s)", problem)
        if mode in (None, "subreaper"):
            flag, PRCTL = _subreaper_flag(), _prctl()
            if (
                flag is not None
                and PRCTL is not None
                and PRCTL(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            ):
                made = cls(data_root, "subreaper", cgroups)
                made._set_subreaper = flag == 0
                return made
            if mode == "subreaper":
                raise ContainmentError("subreaper containment needs Linux prctl")
        return cls(data_root, "process_group", cgroups)

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def detail(self) -> str:
        """One line for ``mimolo status``: where the agents are contained."""
        if self._mode == "cgroup_v2" and self._cgroups is not None:
            return f"cgroup {self._cgroups.base}"
        if self._mode == "subreaper":
            return f"child subreaper pid {os.getpid()}, pid record {self._record.path}"
        return f"process groups, pid record {self._record.path}"

    @property
    def guardian_pid(self) -> int | None:
        return None if self._guardian is None else self._guardian.pid

    # -- the launcher's hooks ------------------------------------------------------------

    def child_hook(self, instance_id: str) -> Callable[[], None]:
        """In cgroup mode make the instance's cgroup now; the child joins it before exec."""
        if self._mode != "cgroup_v2" or self._cgroups is None:
            return _noop
        procs = os.fsencode(self._cgroups.ensure(instance_id) / "cgroup.procs")

        def join() -> None:  # runs between fork and exec: plain syscalls only
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

        return join

    def track(self, instance_id: str, pid: int) -> None:
        """Record the agent with its start time (the next start identity-checks it)."""
        self._agents.setdefault(instance_id, set()).add(pid)
        entry = identity(pid)
        if entry is not None:
            self._record.add(instance_id, [entry])

    @property
    def needs_tending(self) -> bool:
        """Whether ``refresh_all`` and ``reap_orphans`` have work in this mode."""
        return self._mode != "cgroup_v2"

    def refresh_all(self, running: Sequence[tuple[str, int]]) -> int:
        """Record the running agents' current descendants, from one pass over the process
        table (call it on a tick); how many entries were new.

        In ``subreaper`` / ``process_group`` mode this is what attributes a descendant that
        later leaves the tree and scrubs its environment. Nothing to do in ``cgroup_v2``
        mode: the cgroup holds every descendant already.
        """
        if not self.needs_tending or not running:
            return 0
        children = children_map()
        new = 0
        for instance_id, pid in running:
            below = descendants(children, pid)
            if below and self._verified(instance_id, pid) is not None:
                new += self._record.add(instance_id, [e for d in below if (e := identity(d))])
        return new

    async def kill_tree(self, instance_id: str, pid: int) -> int:
        """SIGKILL the agent and everything descending from it; how many. Idempotent."""
        import asyncio  # here, not at the top: the guardian imports this module and never waits

        killed: set[int] = set()
        if self._mode == "cgroup_v2" and self._cgroups is not None:
            path = self._cgroups.instance(instance_id)
            killed |= self._cgroups.kill(path)
            deadline = time.monotonic() + _KILL_DEADLINE_S
            while self._cgroups.populated(path) and time.monotonic() < deadline:
                await asyncio.sleep(_POLL_S)
            self._cgroups.remove(path)
        procs = await asyncio.to_thread(  # full /proc scans: keep them off the event loop
            self._stop_and_kill, lambda: self._instance_targets(instance_id, pid)
        )
        deadline = time.monotonic() + _KILL_DEADLINE_S
        while self._pending(procs) and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
        self._warn_survivors(procs)
        self._retired |= self._agents.pop(instance_id, set())
        self._record.drop(instance_id)
        killed |= {p.pid for p in procs}
        if killed:
            log.info("containment: killed %d process(es) of %s", len(killed), instance_id)
        return len(killed)

    def reap_orphans(self) -> int:
        """Subreaper mode: wait for adopted orphans that died; how many (call it on a tick).

        Orphans re-parent to a subreaper and nobody else waits for them. Assumes
        Operations starts processes only through the launcher and ``start_guardian``.
        """
        if self._mode != "subreaper":
            return 0
        keep = self._not_ours_to_reap()
        reaped = 0
        with contextlib.suppress(*_GONE):
            for child in psutil.Process().children():
                if child.pid in keep:
                    continue
                with contextlib.suppress(*_GONE, ChildProcessError):
                    if child.status() == psutil.STATUS_ZOMBIE:
                        reaped += os.waitpid(child.pid, os.WNOHANG)[0] == child.pid
        return reaped

    # -- start, death, shutdown ----------------------------------------------------------

    def reap_leftovers(self) -> list[int]:
        """End what a killed predecessor left: old guardians, stale cgroups, record, environ.

        Call it before the first agent is spawned: it cannot tell a leftover from a live
        agent of the same instance.
        """
        if self._agents:
            raise ContainmentError(
                "reap_leftovers after agents were started", code="containment_misuse"
            )
        guardians = self._stop_and_kill(lambda: [s.proc for s in self._scan(None) if s.guardian])
        self._wait_sync(guardians)
        ended = {p.pid for p in guardians}
        if self._cgroups is not None:
            for path in self._cgroups.instances():
                ended |= self._cgroups.kill(path)
                deadline = time.monotonic() + _KILL_DEADLINE_S
                while self._cgroups.populated(path) and time.monotonic() < deadline:
                    time.sleep(_POLL_S)
                self._cgroups.remove(path)
            self._cgroups.remove(self._cgroups.base)  # child_hook makes it again
        procs = self._stop_and_kill(self._leftover_targets)
        self._wait_sync(procs)
        ended |= {p.pid for p in procs}
        self._record.clear()
        if ended:
            log.warning("containment: ended %d leftover process(es)", len(ended))
        return sorted(ended)

    def start_guardian(self) -> None:
        """Start the watcher that ends every agent descendant if Operations dies."""
        if self._guardian is not None:
            return
        env = {k: v for k, v in os.environ.items() if k != ENV_INSTANCE_ID}
        env[ENV_GUARDIAN] = str(self._root.root)
        # -P: the working directory is not put on sys.path (nothing there shadows mimolo)
        argv = [sys.executable, "-P", "-m", "mimolo.operations.guardian", str(self._root.root)]
        argv += [str(os.getpid()), str(self._cgroups.base) if self._cgroups else "-"]
        log_fd = open_private(self._root.logs_dir / "guardian.log")
        try:
            self._guardian = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log_fd,
                env=env,
                start_new_session=True,  # terminal signals to our group do not reach it
            )
        finally:
            os.close(log_fd)
        log.info("containment: guardian pid %d", self._guardian.pid)

    def stop_guardian(self, timeout: float = 5.0) -> None:
        """Dismiss the guardian without a sweep (clean shutdown)."""
        guardian, self._guardian = self._guardian, None
        if guardian is None:
            return
        assert guardian.stdin is not None
        try:
            guardian.stdin.write(b"exit\n")
            guardian.stdin.close()
            guardian.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            guardian.kill()
            guardian.wait()

    def close(self) -> None:
        """Clean shutdown: remove empty cgroups, clear the record, drop the subreaper flag."""
        self.stop_guardian()
        if self._mode == "cgroup_v2" and self._cgroups is not None:
            for path in self._cgroups.instances():
                self._cgroups.remove(path)
            self._cgroups.remove(self._cgroups.base)
        self._record.clear()
        self._agents.clear()
        PRCTL = _prctl()
        if self._set_subreaper and PRCTL is not None:
            PRCTL(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
            self._set_subreaper = False

    # -- finding and ending --------------------------------------------------------------

    def _verified(self, instance_id: str, pid: int) -> psutil.Process | None:
        """The agent process, if ``pid`` still is the one recorded for the instance."""
        for entry in self._record.entries(instance_id):
            if entry.pid == pid:
                return entry.live()
        return None

    def _instance_targets(self, instance_id: str, pid: int) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        agent = self._verified(instance_id, pid)
        if agent is not None:
            found[agent.pid] = agent
            found.update((k.pid, k) for k in _children(agent))
        self._add_recorded(found, self._record.entries(instance_id))
        # The agent's session id cannot be reused while any member lives, so members of
        # session ``pid`` are the agent's unless ``pid`` now names another process.
        session = pid if agent is not None or not psutil.pid_exists(pid) else None
        for seen in self._scan(session):
            if seen.instance_id == instance_id or (session is not None and seen.sid == session):
                found.setdefault(seen.proc.pid, seen.proc)
        return self._killable(found.values())

    def _leftover_targets(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        self._add_recorded(found, self._record.all_entries())
        for seen in self._scan(None):
            if seen.instance_id is not None:
                found.setdefault(seen.proc.pid, seen.proc)
        return self._killable(found.values())

    def _add_recorded(self, found: dict[int, psutil.Process], entries: Iterable[PidEntry]) -> None:
        for entry in entries:
            proc = entry.live()
            if proc is not None:
                found[proc.pid] = proc
                found.update((k.pid, k) for k in _children(proc))

    def _protected(self) -> set[int]:
        """Ourselves, our ancestors and our guardian: never a target."""
        pids = {os.getpid(), 0, 1}
        with contextlib.suppress(*_GONE):
            pids.update(p.pid for p in psutil.Process().parents())
        if self._guardian is not None:
            pids.add(self._guardian.pid)
        return pids

    def _killable(self, procs: Iterable[psutil.Process]) -> list[psutil.Process]:
        protected = self._protected()
        alive = []
        for proc in procs:
            if proc.pid in protected:
                continue
            with contextlib.suppress(*_GONE):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    def _scan(self, session: int | None) -> list[Seen]:
        return scan(self._ours, self._protected(), session)

    def _stop_and_kill(self, pick: Callable[[], list[psutil.Process]]) -> list[psutil.Process]:
        """SIGSTOP until a scan finds nothing new (a stopped process cannot fork), then SIGKILL."""
        stopped: dict[int, psutil.Process] = {}
        for _ in range(_MAX_ROUNDS):
            new = [p for p in pick() if p.pid not in stopped]
            if not new:
                break
            for proc in new:
                with contextlib.suppress(*_GONE):
                    proc.send_signal(signal.SIGSTOP)  # psutil refuses a recycled pid
                    stopped[proc.pid] = proc
        killed = []
        for proc in stopped.values():
            with contextlib.suppress(*_GONE):
                proc.kill()
                killed.append(proc)
        return killed

    def _pending(self, procs: list[psutil.Process]) -> bool:
        """Whether any is still alive; reaps the zombies that became our children."""
        agents = self._not_ours_to_reap()
        pending = False
        for proc in procs:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    pending = True
                elif proc.pid not in agents and proc.ppid() == os.getpid():
                    os.waitpid(proc.pid, os.WNOHANG)  # that pid only: asyncio owns the rest
            except (psutil.Error, ChildProcessError):
                continue
        return pending

    def _not_ours_to_reap(self) -> set[int]:
        self._retired = {pid for pid in self._retired if psutil.pid_exists(pid)}
        keep = set().union(self._retired, *self._agents.values())
        if self._guardian is not None:
            keep.add(self._guardian.pid)
        return keep

    def _wait_sync(self, procs: list[psutil.Process]) -> None:
        deadline = time.monotonic() + _KILL_DEADLINE_S
        while self._pending(procs) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        self._warn_survivors(procs)

    def _warn_survivors(self, procs: list[psutil.Process]) -> None:
        if self._pending(procs):
            log.warning("containment: some SIGKILLed processes are still alive")


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


__all__ = ["ENV_GUARDIAN", "MODES", "Containment", "root_hash"]
