"""Writing an artifact archive: a streaming zip of chosen files plus ``manifest.json``.

Each file is read once in chunks (memory stays flat for multi-GB ranges) and hashed as it
goes into the zip; the zip stream itself is hashed too (written without seeking back, so
the hash is of the final bytes). The archive is made under a temporary name, fsynced,
linked to ``archives/<yyyymmdd>_<plugin>_<instance>.zip`` (``-2``, ``-3`` … if taken;
never over an existing file), then opened again and every entry checked against the
manifest. A full disk removes the partial file: the originals are only ever read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from mimolo import __version__
from mimolo.dataroot import ensure_private_dir, write_atomic
from mimolo.errors import ArchiveDiskFull, ArchiveError, ArtifactError, UnsafeArchiveError
from mimolo.operations.artifacts.files import fsync_dir, open_file, read_chunks
from mimolo.operations.artifacts.inventory import ArtifactFile, iso_ns
from mimolo.operations.artifacts.manifest import (
    MANIFEST_NAME,
    MEMBER_PREFIX,
    ArchiveItem,
    ArchiveManifest,
    ManifestEntry,
    RestoreInfo,
    TimeRange,
    item_for,
)
from mimolo.safe_zip import ZipLimits, check_members, open_zip, verify_members

Progress = Callable[[int, int], None]
"""``(bytes done, bytes planned)``: called after each file, and while verifying."""

_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_STORED_EXT: Final = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".zip", ".gz", ".xz", ".zst", ".mp4", ".webm"}
)
_ZIP64_FROM: Final = 1 << 30
ARCHIVE_LIMITS: Final = ZipLimits(
    max_entries=2_000_000, max_entry_bytes=1 << 40, max_total_bytes=1 << 44, max_ratio=1000.0
)


class ArchiveResult(msgspec.Struct, frozen=True, kw_only=True):
    item: ArchiveItem
    manifest: ArchiveManifest
    skipped: list[tuple[str, str]]
    verified: bool = True


class _HashingSink:
    """A write-only file for ``zipfile``: hashes and counts what reaches the disk.

    It has no ``seek``, so zipfile writes data descriptors instead of patching headers
    afterwards; the running hash is then the final file's hash.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None  # the caller owns the descriptor


def _zip_time(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    when = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
    if when.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


def _member(rel_path: str, info: os.stat_result) -> zipfile.ZipInfo:
    zinfo = zipfile.ZipInfo(MEMBER_PREFIX + rel_path, _zip_time(info.st_mtime_ns))
    zinfo.external_attr = (stat.S_IFREG | 0o600) << 16
    zinfo.file_size = info.st_size
    ext = rel_path[rel_path.rfind(".") :].lower() if "." in rel_path else ""
    zinfo.compress_type = zipfile.ZIP_STORED if ext in _STORED_EXT else zipfile.ZIP_DEFLATED
    return zinfo


def _add_file(zf: zipfile.ZipFile, artifacts: Path, f: ArtifactFile) -> ManifestEntry:
    with open_file(artifacts, f.rel_path) as fd:
        info = os.fstat(fd)
        zinfo = _member(f.rel_path, info)
        digest = hashlib.sha256()
        count = 0
        with zf.open(zinfo, "w", force_zip64=info.st_size >= _ZIP64_FROM) as dst:
            for chunk in read_chunks(fd):
                digest.update(chunk)
                count += len(chunk)
                dst.write(chunk)
    return ManifestEntry(
        rel_path=f.rel_path,
        sha256=digest.hexdigest(),
        bytes=count,
        mtime=iso_ns(info.st_mtime_ns),
        mtime_ns=info.st_mtime_ns,
    )


def _final_name(archives: Path, stem: str, tmp: Path) -> str:
    """Link the finished temp file to the first free ``stem``, ``stem-2``, …"""
    for n in range(1, 10_000):
        archive_id = stem if n == 1 else f"{stem}-{n}"
        try:
            os.link(tmp, archives / f"{archive_id}.zip")
        except FileExistsError:
            continue
        return archive_id
    raise ArchiveError(f"too many archives named {stem}")


def write_archive(
    instance_dir: Path,
    files: Iterable[ArtifactFile],
    *,
    plugin_id: str,
    instance_id: str,
    time_range: TimeRange,
    now: datetime,
    progress: Progress | None = None,
) -> ArchiveResult:
    """Archive ``files`` (from the inventory) and verify the result; see the module doc."""
    chosen = list(files)
    planned = sum(f.bytes for f in chosen)
    archives = ensure_private_dir(instance_dir / "archives")
    tmp = archives / f".tmp-{secrets.token_hex(8)}.zip"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    linked: Path | None = None
    try:
        sink = _HashingSink(fd)
        entries: list[ManifestEntry] = []
        skipped: list[tuple[str, str]] = []
        done = 0
        with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
            for f in chosen:
                try:
                    entries.append(_add_file(zf, instance_dir / "artifacts", f))
                except ArtifactError as exc:  # vanished or turned into a link meanwhile
                    skipped.append((f.rel_path, exc.code))
                    continue
                done += entries[-1].bytes
                if progress is not None:
                    progress(done, planned)
            manifest = _manifest(entries, plugin_id, instance_id, time_range, now)
            zf.writestr(MANIFEST_NAME, msgspec.json.encode(manifest), zipfile.ZIP_DEFLATED)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        archive_id = _final_name(
            archives, f"{now.astimezone(UTC):%Y%m%d}_{plugin_id}_{instance_id}", tmp
        )
        linked = archives / f"{archive_id}.zip"
        tmp.unlink()
        fsync_dir(archives)
        _verify(linked, manifest, progress)
        item = item_for(archive_id, manifest, sink.digest.hexdigest(), sink.size)
        write_atomic(archives / f"{archive_id}.json", msgspec.json.encode(item))
    except OSError as exc:
        _discard(fd, tmp, linked)
        if exc.errno in _FULL:
            raise ArchiveDiskFull(
                f"the disk filled while archiving ({exc.strerror}); the partial archive was "
                "removed and no artifact was touched"
            ) from None
        raise ArchiveError(f"the archive could not be written: {exc.strerror}") from None
    except BaseException:
        _discard(fd, tmp, linked)
        raise
    return ArchiveResult(item=item, manifest=manifest, skipped=skipped)


def _discard(fd: int, tmp: Path, linked: Path | None) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    for path in (tmp, linked):
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()


def _manifest(
    entries: list[ManifestEntry],
    plugin_id: str,
    instance_id: str,
    time_range: TimeRange,
    now: datetime,
) -> ArchiveManifest:
    return ArchiveManifest(
        plugin_id=plugin_id,
        instance_id=instance_id,
        created=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        range=time_range,
        oldest=iso_ns(min(e.mtime_ns for e in entries)) if entries else None,
        newest=iso_ns(max(e.mtime_ns for e in entries)) if entries else None,
        files=len(entries),
        bytes=sum(e.bytes for e in entries),
        entries=entries,
        restore=RestoreInfo(instance_path=f"agents/{plugin_id}/{instance_id}/artifacts"),
        mimolo_version=__version__,
    )


def _verify(path: Path, manifest: ArchiveManifest, progress: Progress | None) -> None:
    """Re-open the written archive and read every entry back against the manifest."""
    expected = manifest.expected()
    limits = msgspec.structs.replace(ARCHIVE_LIMITS, allowed=frozenset({*expected, MANIFEST_NAME}))
    try:
        with open_zip(path) as zf:
            members = [m for m in check_members(zf, limits) if m.filename != MANIFEST_NAME]
            if len(members) != len(expected):
                raise ArchiveError("the written archive does not hold every manifest entry")
            report = None if progress is None else (lambda n: progress(n, manifest.bytes))
            verify_members(zf, members, expected, limits, progress=report)
    except UnsafeArchiveError as exc:
        raise ArchiveError(f"the written archive does not verify: {exc.message}") from None


__all__ = ["ARCHIVE_LIMITS", "ArchiveResult", "Progress", "write_archive"]
