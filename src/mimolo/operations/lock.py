"""The singleton lock: one Operations per data root (``fcntl.flock`` on ``ops.lock``)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import psutil

from mimolo.dataroot import open_private
from mimolo.errors import AlreadyRunning, DataRootError


def read_lock_pid(path: Path) -> int | None:
    """The pid written in the lock file, or None when absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def lock_is_held(path: Path) -> bool:
    """Whether some process holds the lock right now (probe with a non-blocking flock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def running_pid(path: Path) -> int | None:
    """The pid of the running Operations for this lock, or None when none is running."""
    if not lock_is_held(path):
        return None
    pid = read_lock_pid(path)
    if pid is None or not psutil.pid_exists(pid):
        return None
    return pid


class OpsLock:
    """Exclusive, non-blocking lock held for the lifetime of one Operations process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> OpsLock:
        """Take the lock and write our pid inside, or raise AlreadyRunning naming the holder."""
        if self._fd is not None:
            return self
        try:
            fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise DataRootError(f"cannot open lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = read_lock_pid(self.path)
            who = f"pid {pid}" if pid is not None else "another process"
            raise AlreadyRunning(
                f"Operations is already running for {self.path.parent.parent} ({who})", pid=pid
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (the pid is cleared so readers see no stale holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> OpsLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


__all__ = ["OpsLock", "lock_is_held", "read_lock_pid", "running_pid"]
