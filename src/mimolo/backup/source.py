"""Reading a live data root: the walk (regular files only, never following a link) and
each file's bytes as of the moment it is opened, streamed in chunks."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mimolo.backup.select import ReadMode, read_mode, skips_dir

CHUNK = 1 << 20
_TAIL_STEP = 64 * 1024


@dataclass(frozen=True)
class Listed:
    """A file the backup will take, as the walk saw it."""

    rel: PurePosixPath
    path: Path
    mode: ReadMode
    size: int


@dataclass(frozen=True)
class Listing:
    files: list[Listed]
    skipped: list[str]  # "<rel>: <why>" for what is neither a file nor a directory


def walk_root(root: Path) -> Listing:
    """Every file under ``root`` a backup takes, sorted by path; links and sockets skipped."""
    files: list[Listed] = []
    skipped: list[str] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:  # removed while we walked
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = PurePosixPath(path.relative_to(root).as_posix())
            if entry.is_dir(follow_symlinks=False):
                if not skips_dir(rel):
                    pending.append(path)
                continue
            if not entry.is_file(follow_symlinks=False):
                mode = read_mode(rel)
                if mode is not ReadMode.SKIP:
                    kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                    skipped.append(f"{rel}: {kind}")
                continue
            mode = read_mode(rel)
            if mode is ReadMode.SKIP:
                continue
            try:
                size = entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
            files.append(Listed(rel, path, mode, size))
    files.sort(key=lambda item: item.rel.as_posix())
    return Listing(files, sorted(skipped))


@dataclass
class OpenedFile:
    """One file held open: its bytes are those of the version we opened (an atomic
    rename after this does not change them), up to ``length`` when it is set."""

    fd: int
    length: int | None
    mode: int
    mtime_ns: int

    def chunks(self) -> Iterator[bytes]:
        left = self.length
        while left is None or left > 0:
            want = CHUNK if left is None else min(CHUNK, left)
            data = os.read(self.fd, want)
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data

    def close(self) -> None:
        os.close(self.fd)


def last_line_end(fd: int, size: int) -> int:
    """The length of the file's complete lines among its first ``size`` bytes."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_STEP)
        block = os.pread(fd, end - start, start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def open_listed(item: Listed) -> OpenedFile | None:
    """Open ``item`` for copying; None when it vanished or is no longer a plain file."""
    try:
        fd = os.open(item.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since the walk
            return None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    length = last_line_end(fd, info.st_size) if item.mode is ReadMode.LINES else None
    return OpenedFile(fd, length, stat.S_IMODE(info.st_mode), info.st_mtime_ns)


__all__ = ["CHUNK", "Listed", "Listing", "OpenedFile", "last_line_end", "open_listed", "walk_root"]
