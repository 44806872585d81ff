"""Safe file steps inside one instance's subtree: open, hash, create folders, unlink.

Every component below the instance folder is opened relative to its parent's descriptor
with ``O_NOFOLLOW``, so an agent that plants a symlink in its own ``artifacts/`` cannot
make Operations read, write or delete anything outside it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from mimolo.artifact_files import split_rel_path
from mimolo.errors import ArtifactError

CHUNK: Final = 1 << 20
_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def is_work_in_progress(name: str) -> bool:
    """An agent's temporary file (``.name.tmp``): never counted, archived or purged."""
    return name.startswith(".")


def _refused(rel_path: str, exc: OSError) -> ArtifactError:
    if exc.errno == errno.ENOENT:
        return ArtifactError(f"artifact {rel_path!r} does not exist", code="artifact_missing")
    return ArtifactError(
        f"artifact {rel_path!r} passes through a link or cannot be opened ({exc.strerror})",
        code="artifact_path_refused",
    )


@contextlib.contextmanager
def open_dir(base: Path, parts: tuple[str, ...], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``base/parts`` reached without following links (made 0700 if asked)."""
    fd = os.open(base, _DIR)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            child = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_file(base: Path, rel_path: str) -> Iterator[int]:
    """A read descriptor of the plain file ``base/rel_path`` (``ArtifactError`` otherwise)."""
    parts = split_rel_path(rel_path)
    try:
        with open_dir(base, parts[:-1]) as parent:
            fd = os.open(parts[-1], _READ, dir_fd=parent)
    except OSError as exc:
        raise _refused(rel_path, exc) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArtifactError(
                f"artifact {rel_path!r} is not a file", code="artifact_path_refused"
            )
        yield fd
    finally:
        os.close(fd)


def read_chunks(fd: int) -> Iterator[bytes]:
    """The file's bytes in chunks, so memory stays flat whatever its size."""
    while chunk := os.read(fd, CHUNK):
        yield chunk


def hash_file(
    base: Path, rel_path: str, on_chunk: Callable[[bytes], None] | None = None
) -> tuple[str, int, os.stat_result]:
    """``(sha256, bytes read, stat before reading)`` of one file, streamed."""
    with open_file(base, rel_path) as fd:
        info = os.fstat(fd)
        digest = hashlib.sha256()
        count = 0
        for chunk in read_chunks(fd):
            digest.update(chunk)
            count += len(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    return digest.hexdigest(), count, info


def same_file(info: os.stat_result, size: int, mtime_ns: int) -> bool:
    """The file still has the size and modification time it was planned or read with."""
    return info.st_size == size and info.st_mtime_ns == mtime_ns


def unlink_if_unchanged(base: Path, rel_path: str, size: int, mtime_ns: int) -> str | None:
    """Delete the file if it is still what was planned; the reason it was not otherwise."""
    parts = split_rel_path(rel_path)
    try:
        with open_dir(base, parts[:-1]) as parent:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                return "not_a_file"
            if not same_file(info, size, mtime_ns):
                return "changed_since_plan"
            os.unlink(parts[-1], dir_fd=parent)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"refused: {exc.strerror}"
    prune_empty_dirs(base, parts[:-1])
    return None


def prune_empty_dirs(base: Path, parts: tuple[str, ...]) -> None:
    """Remove the folders a purge emptied, innermost first (never ``base`` itself)."""
    for depth in range(len(parts), 0, -1):
        try:
            with open_dir(base, parts[: depth - 1]) as parent:
                os.rmdir(parts[depth - 1], dir_fd=parent)
        except OSError:
            return


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "CHUNK",
    "fsync_dir",
    "hash_file",
    "is_work_in_progress",
    "open_dir",
    "open_file",
    "prune_empty_dirs",
    "read_chunks",
    "same_file",
    "unlink_if_unchanged",
]
