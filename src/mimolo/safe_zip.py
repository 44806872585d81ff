"""Checked, streaming reading of untrusted zip files (artifact restores, package installs).

A zip's central directory is the attacker's words: names, types and sizes are checked
before anything is read (``check_members``), and while extracting the real decompressed
bytes are counted, hashed and capped (``extract_checked``), never the header's claims.
Files land only under the caller's directory, created ``O_EXCL|O_NOFOLLOW`` at every
component, 0600 files in 0700 folders; a failure removes everything the call wrote.
Every refusal is an ``UnsafeArchiveError`` subclass with its own code.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Final

import msgspec

from mimolo.errors import (
    ArchiveBomb,
    ArchiveDuplicateEntry,
    ArchiveEntryType,
    ArchiveHashMismatch,
    ArchiveTooLarge,
    ArchiveUnexpectedEntry,
    UnsafeArchiveError,
    UnsafeArchivePath,
)

CHUNK: Final = 1 << 20
MAX_NAME: Final = 1024
MAX_COMPONENT: Final = 255
_METHODS: Final = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_FLAG_ENCRYPTED: Final = 0x1
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class ZipLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What an archive may hold; ``allowed`` (file names) None means any safe name.

    ``max_ratio`` applies once an entry has produced ``ratio_floor`` bytes, so small
    highly compressible files (text, JSON) are fine while a bomb is stopped early.
    """

    max_entries: int = 200_000
    max_entry_bytes: int = 4 << 30
    max_total_bytes: int = 64 << 30
    max_ratio: float = 200.0
    ratio_floor: int = 1 << 20
    allowed: frozenset[str] | None = None


class ExtractedFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file written: its archive name, where it is, and what it really held."""

    name: str
    path: str
    sha256: str
    bytes: int


def check_name(name: str) -> tuple[str, ...]:
    """The components of a safe relative entry name (a trailing ``/`` marks a folder)."""
    body = name[:-1] if name.endswith("/") else name
    if not body or len(name) > MAX_NAME:
        raise UnsafeArchivePath(f"archive entry name {name[:80]!r} is empty or too long")
    if body.startswith("/") or "\\" in body or (len(body) > 1 and body[1] == ":"):
        raise UnsafeArchivePath(f"archive entry {name!r} is absolute or not a plain path")
    if not body.isprintable() or "\x00" in body:
        raise UnsafeArchivePath(f"archive entry {name!r} has control characters")
    parts = tuple(body.split("/"))
    for part in parts:
        if part in ("", ".", "..") or len(part) > MAX_COMPONENT or part != part.strip():
            raise UnsafeArchivePath(
                f"archive entry {name!r} traverses or has an empty or odd component"
            )
    return parts


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold().rstrip("/")


def _check_type(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise ArchiveEntryType(f"archive entry {info.filename!r} is encrypted")
    if info.compress_type not in _METHODS:
        raise ArchiveEntryType(
            f"archive entry {info.filename!r} uses compression method {info.compress_type}"
        )
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind:  # whatever system the zip claims: only plain files and folders
        wanted = stat.S_IFDIR if info.is_dir() else stat.S_IFREG
        if kind != wanted:
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a plain file"
            raise ArchiveEntryType(f"archive entry {info.filename!r} is {what}")
    if info.is_dir() and info.file_size:
        raise ArchiveEntryType(f"archive folder entry {info.filename!r} has contents")


def check_members(zf: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """Every entry checked by name, type and declared size, before any byte is read."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveTooLarge(f"{len(infos)} entries (at most {limits.max_entries})")
    seen: dict[str, str] = {}
    files: set[str] = set()
    parents: set[str] = set()
    total = 0
    for info in infos:
        parts = check_name(info.filename)
        _check_type(info)
        folded = _fold(info.filename)
        if folded in seen:
            raise ArchiveDuplicateEntry(
                f"archive entry {info.filename!r} collides with {seen[folded]!r}"
            )
        seen[folded] = info.filename
        if info.is_dir():
            parents.add(folded)
            continue
        if limits.allowed is not None and info.filename not in limits.allowed:
            raise ArchiveUnexpectedEntry(f"archive entry {info.filename!r} is not expected")
        files.add(folded)
        parents.update(_fold("/".join(parts[:i])) for i in range(1, len(parts)))
        if info.file_size > limits.max_entry_bytes:
            raise ArchiveTooLarge(
                f"archive entry {info.filename!r} is {info.file_size} bytes "
                f"(at most {limits.max_entry_bytes})"
            )
        if info.file_size > max(limits.ratio_floor, limits.max_ratio * max(1, info.compress_size)):
            raise ArchiveBomb(
                f"archive entry {info.filename!r} claims to expand over {limits.max_ratio:g}x"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveTooLarge(f"archive entries add up to over {limits.max_total_bytes} bytes")
    clash = files & parents
    if clash:
        raise ArchiveDuplicateEntry(f"archive entry {sorted(clash)[0]!r} is a file and a folder")
    return infos


class _Writer:
    """The folders and files one extraction created, so a failure can take them back."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.files: list[Path] = []
        self.dirs: list[Path] = []

    def open_parent(self, parts: tuple[str, ...]) -> int:
        """A descriptor of the entry's folder, each component opened without following links."""
        fd = os.open(self.dest, _DIR_FLAGS)
        path = self.dest
        try:
            for part in parts:
                path = path / part
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                    self.dirs.append(path)
                except FileExistsError:
                    pass
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise UnsafeArchivePath(
                        f"{path} exists and is not a plain folder ({exc.strerror})"
                    ) from None
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def undo(self) -> None:
        for path in reversed(self.files):
            with contextlib.suppress(OSError):
                path.unlink()
        for path in reversed(self.dirs):
            with contextlib.suppress(OSError):
                path.rmdir()


def _read(src: IO[bytes], name: str) -> bytes:
    """One chunk of an entry's real bytes; a corrupt stream is a refusal, not a crash."""
    try:
        return src.read(CHUNK)
    except zipfile.BadZipFile as exc:  # a CRC that does not match, a torn local header
        raise ArchiveHashMismatch(f"archive entry {name!r} is corrupt ({exc})") from None
    except (zlib.error, lzma.LZMAError, EOFError, OSError) as exc:  # bz2 raises OSError
        raise UnsafeArchiveError(f"archive entry {name!r} is unreadable ({exc})") from None


def _stream(
    src: IO[bytes], sink: Callable[[bytes], None], info: zipfile.ZipInfo, limits: ZipLimits
) -> tuple[str, int]:
    """Stream one entry into ``sink``: real bytes counted against the caps, hashed."""
    digest = hashlib.sha256()
    count = 0
    budget = max(limits.ratio_floor, limits.max_ratio * max(1, info.compress_size))
    while chunk := _read(src, info.filename):
        count += len(chunk)
        if count > limits.max_entry_bytes:
            raise ArchiveTooLarge(f"archive entry {info.filename!r} grew past its cap")
        if count > budget:
            raise ArchiveBomb(
                f"archive entry {info.filename!r} expands over {limits.max_ratio:g}x: "
                "refused as a zip bomb"
            )
        digest.update(chunk)
        sink(chunk)
    return digest.hexdigest(), count


def _write_all(fd: int) -> Callable[[bytes], None]:
    def write(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]

    return write


def _open_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    try:
        return zf.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
        raise UnsafeArchiveError(
            f"archive entry {info.filename!r} cannot be opened ({exc})"
        ) from None


def verify_members(
    zf: zipfile.ZipFile,
    members: Iterable[zipfile.ZipInfo],
    expected: dict[str, tuple[str, int]],
    limits: ZipLimits,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Read every file entry through the same caps and compare it with ``expected``,
    writing nothing (an archive checked after it was written); returns the bytes read."""
    total = 0
    for info in members:
        if info.is_dir():
            continue
        if info.filename not in expected:
            raise ArchiveUnexpectedEntry(f"archive entry {info.filename!r} is not in the manifest")
        with _open_entry(zf, info) as src:
            got = _stream(src, lambda _chunk: None, info, limits)
        _check_expected(info.filename, got, expected.get(info.filename))
        total += got[1]
        if progress is not None:
            progress(total)
    return total


def _check_expected(name: str, got: tuple[str, int], expected: tuple[str, int] | None) -> None:
    if expected is None:
        raise ArchiveUnexpectedEntry(f"archive entry {name!r} is not in the manifest")
    if got[1] != expected[1] or got[0] != expected[0]:
        raise ArchiveHashMismatch(
            f"archive entry {name!r} holds {got[1]} bytes with sha256 {got[0][:12]}…, "
            f"expected {expected[1]} bytes with {expected[0][:12]}…"
        )


def extract_checked(
    zf: zipfile.ZipFile,
    members: Iterable[zipfile.ZipInfo],
    dest_dir: Path,
    expected: dict[str, tuple[str, int]] | None,
    limits: ZipLimits,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[ExtractedFile]:
    """Write ``members`` (from ``check_members``) under ``dest_dir``; all or nothing.

    ``expected`` maps a file name to its ``(sha256, bytes)``: a file not in it, or with
    other bytes, is refused. ``progress`` gets the bytes written after each file.
    """
    writer = _Writer(Path(dest_dir))
    out: list[ExtractedFile] = []
    total = 0
    try:
        for info in members:
            parts = check_name(info.filename)
            folder = parts if info.is_dir() else parts[:-1]
            parent = writer.open_parent(folder)
            try:
                if not info.is_dir():
                    out.append(_extract_one(zf, info, parent, writer, expected, limits))
                    total += out[-1].bytes
                    if total > limits.max_total_bytes:
                        raise ArchiveTooLarge(
                            f"archive entries add up to over {limits.max_total_bytes} bytes"
                        )
                    if progress is not None:
                        progress(total)
            finally:
                os.close(parent)
    except BaseException:
        writer.undo()
        raise
    return out


def _extract_one(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    parent: int,
    writer: _Writer,
    expected: dict[str, tuple[str, int]] | None,
    limits: ZipLimits,
) -> ExtractedFile:
    name = info.filename.rsplit("/", 1)[-1]
    path = writer.dest / info.filename
    if expected is not None and info.filename not in expected:
        raise ArchiveUnexpectedEntry(f"archive entry {info.filename!r} is not in the manifest")
    try:
        fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
    except FileExistsError:
        raise ArchiveDuplicateEntry(f"{path} already exists") from None
    except OSError as exc:
        raise UnsafeArchivePath(f"{path} cannot be created ({exc.strerror})") from None
    writer.files.append(path)
    try:
        with _open_entry(zf, info) as src:
            sha, size = _stream(src, _write_all(fd), info, limits)
        os.fsync(fd)
    finally:
        os.close(fd)
    if expected is not None:
        _check_expected(info.filename, (sha, size), expected.get(info.filename))
    return ExtractedFile(name=info.filename, path=str(path), sha256=sha, bytes=size)


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip for checked reading; not a zip at all is ``archive_invalid``."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UnsafeArchiveError(f"{path.name}: not a readable zip ({exc})") from None


__all__ = [
    "ExtractedFile",
    "ZipLimits",
    "check_members",
    "check_name",
    "extract_checked",
    "open_zip",
    "verify_members",
]
