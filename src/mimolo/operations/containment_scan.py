"""Finding a data root's processes by what they carry: their environment and session.

Agents get ``MIMOLO_INSTANCE_ID`` and ``MIMOLO_DATA_DIR``; every descendant inherits them,
``setsid`` or not, so an orphan re-parented to a subreaper or to pid 1 is still attributed.
On Linux ``/proc`` is read directly (a full scan of ~500 processes costs a few ms); a
``psutil.Process`` is made only for a match, and checked to be the process that was read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import psutil

from mimolo.operations.containment_record import start_ticks

ENV_INSTANCE_ID: Final = (
    "MIMOLO_INSTANCE_ID"  # = protocol.agent_env.INSTANCE_ID (the guardian imports nothing heavy)
)
ENV_DATA_DIR: Final = "MIMOLO_DATA_DIR"
ENV_GUARDIAN: Final = "MIMOLO_GUARDIAN_DATA_DIR"  # marks a guardian: never an agent
_KEYS: Final = (ENV_INSTANCE_ID, ENV_DATA_DIR, ENV_GUARDIAN)


@dataclass(frozen=True, slots=True)
class Seen:
    """One live process of ours and what attributes it."""

    proc: psutil.Process
    instance_id: str | None  # set only when MIMOLO_DATA_DIR is this root
    sid: int | None
    guardian: bool  # a guardian of this root


def norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


class RootMatch:
    """Whether an environment's path names this data root (however it was spelled)."""

    def __init__(self, root: str) -> None:
        self._roots = {norm(root), os.path.realpath(root)}

    def __call__(self, value: str | None) -> bool:
        if not value:
            return False
        return norm(value) in self._roots or os.path.realpath(value) in self._roots


def _attribution(env: dict[str, str], ours: RootMatch) -> tuple[str | None, bool]:
    instance = env.get(ENV_INSTANCE_ID)
    if instance is not None and not ours(env.get(ENV_DATA_DIR)):
        instance = None
    return instance, ours(env.get(ENV_GUARDIAN))


def _environ(raw: bytes) -> dict[str, str]:
    env: dict[str, str] = {}
    if b"MIMOLO_" in raw:
        for item in raw.split(b"\0"):
            key, _, value = item.partition(b"=")
            name = os.fsdecode(key)
            if name in _KEYS:
                env[name] = os.fsdecode(value)
    return env


def _linux_one(pid: int, uid: int, ours: RootMatch, session: int | None) -> Seen | None:
    base = f"/proc/{pid}"
    try:
        if os.stat(base).st_uid != uid:
            return None
        with open(f"{base}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        if fields[0] in (b"Z", b"X"):
            return None
        sid, ticks = int(fields[3]), int(fields[19])
        with open(f"{base}/environ", "rb") as environ:
            raw = environ.read()
    except (OSError, ValueError, IndexError):
        return None
    instance, guardian = _attribution(_environ(raw), ours)
    if instance is None and not guardian and (session is None or sid != session):
        return None
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return None
    if start_ticks(pid) != ticks:  # the pid was reused while we read it
        return None
    return Seen(proc, instance, sid, guardian)


def _psutil_one(pid: int, uid: int, ours: RootMatch, session: int | None) -> Seen | None:
    try:
        proc = psutil.Process(pid)
        if proc.uids().real != uid or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        env = proc.environ()
        sid = os.getsid(pid)
    except (psutil.Error, OSError):
        return None
    instance, guardian = _attribution(env, ours)
    if instance is None and not guardian and (session is None or sid != session):
        return None
    return Seen(proc, instance, sid, guardian)


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids of every live process, in one pass over the process table."""
    out: dict[int, list[int]] = {}
    if not sys.platform.startswith("linux"):
        for proc in psutil.process_iter(["ppid"]):
            out.setdefault(int(proc.info["ppid"] or 0), []).append(proc.pid)
        return out
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                ppid = int(stat.read().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(name))
    return out


def descendants(children: dict[int, list[int]], pid: int) -> list[int]:
    """Every pid below ``pid`` in ``children`` (breadth first)."""
    found: list[int] = []
    todo = list(children.get(pid, ()))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, ()))
    return found


def scan(ours: RootMatch, protected: Collection[int], session: int | None = None) -> list[Seen]:
    """Live processes of our uid attributed to this root, or members of ``session``."""
    one = _linux_one if sys.platform.startswith("linux") else _psutil_one
    uid = os.getuid()
    found = []
    for pid in psutil.pids():
        if pid not in protected and (seen := one(pid, uid, ours, session)) is not None:
            found.append(seen)
    return found


__all__ = [
    "ENV_DATA_DIR",
    "ENV_GUARDIAN",
    "ENV_INSTANCE_ID",
    "RootMatch",
    "Seen",
    "children_map",
    "descendants",
    "scan",
]
