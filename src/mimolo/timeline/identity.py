"""A ledger file's identity: what must be unchanged for a cached read of it to be valid."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class FileIdentity(msgspec.Struct, frozen=True, array_like=True):
    """Path, size, modification time (ns) and inode of a file, as stat'ed."""

    path: str
    size: int
    mtime_ns: int
    inode: int


def file_identity(path: Path) -> FileIdentity | None:
    """The identity of ``path`` now, or ``None`` when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return FileIdentity(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


__all__ = ["FileIdentity", "file_identity"]
