"""Append-only daily JSON-lines files: group commit, fsync off the loop, torn-tail recovery.

Shared by the evidence ledger and diagnostics (``DailyBatchWriter``). A crash can leave the
last line of the file being written torn (no newline, or not JSON); on start that tail is
moved to a quarantine file next to it (``YYYYMMDD.<kind>.quarantine.jsonl``) and the file
is truncated to its last good line, so readers never see half a record and nothing is
silently lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import msgspec

from mimolo.dataroot import open_private

log = logging.getLogger(__name__)

_TAIL_PROBE = 4 * 1024 * 1024  # how far back recovery looks for the last newline


def quarantine_path(path: Path) -> Path:
    """``20260101.evidence.jsonl`` -> ``20260101.evidence.quarantine.jsonl``."""
    name = path.name.removesuffix(".jsonl")
    return path.with_name(f"{name}.quarantine.jsonl")


def _is_json(line: bytes) -> bool:
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def recover_torn_tail(path: Path) -> int:
    """Quarantine a torn last line of ``path``; return how many bytes were moved (0 if none)."""
    return len(quarantine_torn_tail(path))


def quarantine_torn_tail(path: Path) -> bytes:
    """Quarantine a torn last line of ``path``; return the bytes moved (empty if none)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return b""
    if size == 0:
        return b""
    with path.open("rb") as fh:
        start = max(0, size - _TAIL_PROBE)
        fh.seek(start)
        tail = fh.read()
    cut = len(tail)
    if not tail.endswith(b"\n"):
        nl = tail.rfind(b"\n")
        cut = nl + 1 if nl >= 0 else 0
    # The last complete line must itself be JSON (a crash mid-batch can leave garbage).
    if cut > 0:
        prev = tail.rfind(b"\n", 0, cut - 1)
        line = tail[prev + 1 : cut - 1]
        if line.strip() and not _is_json(line):
            cut = prev + 1
    if cut == len(tail):
        return b""
    if cut == 0 and start > 0:
        log.warning("%s: no newline in the last %d bytes; leaving it as is", path, _TAIL_PROBE)
        return b""
    torn = tail[cut:]
    qpath = quarantine_path(path)
    fd = open_private(qpath)
    try:
        _write_all(fd, torn if torn.endswith(b"\n") else torn + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    with path.open("r+b") as fh:
        fh.truncate(start + cut)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("%s: moved a torn tail of %d bytes to %s", path, len(torn), qpath.name)
    return torn


def last_line(path: Path) -> bytes | None:
    """The last complete line of ``path`` (without newline), or None for an empty file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    with path.open("rb") as fh:
        fh.seek(max(0, size - _TAIL_PROBE))
        tail = fh.read().rstrip(b"\n")
    if not tail:
        return None
    return tail[tail.rfind(b"\n") + 1 :]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _DailyFiles:
    """Owns the open fd of each day's file; fds are retired when a later day is written."""

    def __init__(self, path_for_day: Callable[[date], Path]) -> None:
        self._path_for_day = path_for_day
        self._fds: dict[date, int] = {}
        self._dirty: set[date] = set()

    def write(self, day: date, data: bytes) -> None:
        """Append ``data`` (whole lines) to the file of ``day``."""
        fd = self._fds.get(day)
        if fd is None:
            if self._fds and day > max(self._fds):
                self._retire_before(day)
            fd = open_private(self._path_for_day(day))
            self._fds[day] = fd
        _write_all(fd, data)
        self._dirty.add(day)

    def _retire_before(self, day: date) -> None:
        for old in [d for d in self._fds if d < day]:
            fd = self._fds.pop(old)
            if old in self._dirty:
                os.fsync(fd)
                self._dirty.discard(old)
            os.close(fd)

    def take_dirty(self) -> list[int]:
        """The fds written since the last call (on the writer's thread); fsync them next."""
        fds = [self._fds[day] for day in self._dirty if day in self._fds]
        self._dirty.clear()
        return fds

    def close(self) -> None:
        """fsync and close every open file."""
        for fd in self.take_dirty():
            os.fsync(fd)
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


class DailyBatchWriter:
    """Group commit into daily files: ``add`` only queues a line (cheap, on the event loop);
    ``commit`` writes the batch with one ``write`` per day file; ``sync`` or
    ``sync_off_loop`` make it durable. ``on_commit(n)`` runs after every batch written."""

    def __init__(
        self,
        path_for_day: Callable[[date], Path],
        *,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self._files = _DailyFiles(path_for_day)
        self._pending: list[tuple[date, bytes]] = []
        self._on_commit = on_commit
        # fsyncs run on a worker thread: fds are only closed under the same lock
        self._io_lock = threading.Lock()
        self.syncs = 0  # fsync rounds that had something to make durable

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def add(self, day: date, line: bytes) -> int:
        """Queue one whole line for the file of ``day``; how many lines are now pending."""
        self._pending.append((day, line))
        return len(self._pending)

    def commit(self) -> int:
        """Write the pending lines, one write per day file (oldest day first); how many."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        by_day: dict[date, list[bytes]] = {}
        for day, line in batch:
            by_day.setdefault(day, []).append(line)
        for day in sorted(by_day):
            self._files.write(day, b"".join(by_day[day]))
        if self._on_commit is not None:
            self._on_commit(len(batch))
        return len(batch)

    def sync(self) -> None:
        """fsync what has been written, on the caller's thread."""
        self._fsync(self._files.take_dirty())

    async def sync_off_loop(self) -> None:
        """fsync what has been written on a worker thread, off the event loop (no thread
        hop at all when nothing was written: an idle Operations wakes often)."""
        fds = self._files.take_dirty()
        if fds:
            await asyncio.to_thread(self._fsync, fds)

    def _fsync(self, fds: list[int]) -> None:
        if not fds:
            return
        with self._io_lock:
            for fd in fds:
                os.fsync(fd)
        self.syncs += 1

    def close(self) -> None:
        """Commit, fsync and close every file (shutdown path)."""
        with self._io_lock:
            self.commit()
            self._files.close()


__all__ = ["DailyBatchWriter", "last_line", "quarantine_path", "recover_torn_tail"]
