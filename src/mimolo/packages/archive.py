"""Deterministic zip writing shared by the packer and the signer: fixed timestamps
(1980-01-01), Unix modes 0644 / 0755 only, entries in the order given, written to a temp
file beside ``out`` and renamed into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

FIXED_TIME: Final = (1980, 1, 1, 0, 0, 0)
FILE_MODE: Final = 0o644
EXEC_MODE: Final = 0o755
_COPY_CHUNK: Final = 1024 * 1024


def zip_info(name: str, *, executable: bool = False) -> zipfile.ZipInfo:
    """A ZipInfo that says nothing about when or where it was made."""
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so external_attr carries the mode
    mode = EXEC_MODE if executable else FILE_MODE
    info.external_attr = (0o100000 | mode) << 16
    return info


def is_executable(info: zipfile.ZipInfo) -> bool:
    """Whether a zip entry carries an exec bit (only meaningful for Unix-made entries)."""
    return bool((info.external_attr >> 16) & 0o111)


def write_bytes(zf: zipfile.ZipFile, name: str, data: bytes, *, executable: bool = False) -> None:
    zf.writestr(zip_info(name, executable=executable), data, compresslevel=6)


def write_stream(
    zf: zipfile.ZipFile, name: str, source: IO[bytes], size: int, *, executable: bool = False
) -> None:
    """Copy ``source`` into a new entry without holding it in memory."""
    info = zip_info(name, executable=executable)
    info.file_size = size
    with zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as target:
        shutil.copyfileobj(source, target, _COPY_CHUNK)


@contextlib.contextmanager
def atomic_zip(out: Path) -> Iterator[zipfile.ZipFile]:
    """A ZipFile writing to a temp file beside ``out``; renamed over ``out`` on success,
    removed on failure (so a failed build or sign never leaves half a package)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            with zipfile.ZipFile(handle, "w", compresslevel=6) as zf:
                zf.comment = b""
                yield zf
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = [
    "EXEC_MODE",
    "FILE_MODE",
    "FIXED_TIME",
    "atomic_zip",
    "is_executable",
    "write_bytes",
    "write_stream",
    "zip_info",
]
