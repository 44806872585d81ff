"""``make_backup``: a consistent snapshot of a live data root into one zip (0600, written
to a temporary name, fsynced and renamed), with ``manifest.json`` naming every file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from mimolo import __version__
from mimolo.backup.ledger_copy import Staged, snapshot_ledger
from mimolo.backup.manifest import (
    FORMAT,
    MANIFEST_NAME,
    VERSION,
    BackupManifest,
    FileEntry,
    LedgerState,
    encode_manifest,
)
from mimolo.backup.progress import NoProgress, Progress
from mimolo.backup.select import EVIDENCE_DIR, compresses, in_evidence
from mimolo.backup.source import Listed, OpenedFile, open_listed, walk_root
from mimolo.dataroot import DataRoot, ensure_private_dir, open_private
from mimolo.errors import BackupError
from mimolo.operations.host_key import host_public_key_path


def default_backup_name(now: datetime) -> str:
    return f"mimolo-backup-{now:%Y%m%dT%H%M%SZ}.zip"


def _check_paths(root: DataRoot, dest: Path) -> None:
    if not root.operations_dir.is_dir():
        raise BackupError(
            f"{root.root} is not a MiMoLo data root (no operations/ folder)",
            code="backup_source_missing",
        )
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} already exists", code="backup_destination_exists")
    if dest.resolve().is_relative_to(root.root.resolve()):
        raise BackupError(
            f"{dest} is inside the data root {root.root}; write the backup elsewhere",
            code="backup_inside_root",
        )


def _zip_info(rel: PurePosixPath, mode: int, mtime_ns: int) -> zipfile.ZipInfo:
    stamp = max(mtime_ns / 1e9, 315_532_800.0)  # zip dates start in 1980
    info = zipfile.ZipInfo(rel.as_posix(), time.gmtime(stamp)[:6])
    info.external_attr = (stat.S_IFREG | (mode & 0o700)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED if compresses(rel) else zipfile.ZIP_STORED
    return info


def _add(
    zf: zipfile.ZipFile,
    rel: PurePosixPath,
    opened: OpenedFile,
    progress: Progress,
) -> FileEntry:
    """Stream one open file into the zip, hashing exactly the bytes written."""
    digest = hashlib.sha256()
    size = 0
    with zf.open(_zip_info(rel, opened.mode, opened.mtime_ns), "w", force_zip64=True) as out:
        for chunk in opened.chunks():
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            progress.advance(len(chunk))
    return FileEntry(rel.as_posix(), size, digest.hexdigest(), opened.mode & 0o777, opened.mtime_ns)


def _add_staged(zf: zipfile.ZipFile, staged: Staged, progress: Progress) -> FileEntry:
    fd = os.open(staged.path, os.O_RDONLY | os.O_CLOEXEC)
    opened = OpenedFile(fd, None, staged.mode, staged.mtime_ns)
    try:
        entry = _add(zf, staged.rel, opened, progress)
    finally:
        opened.close()
    if entry.sha256 != staged.sha256:  # our own staging copy changed under us
        raise BackupError(f"{staged.rel}: the staged copy changed while being zipped")
    return entry


def _add_live(zf: zipfile.ZipFile, items: Iterable[Listed], progress: Progress) -> list[FileEntry]:
    entries = []
    for item in items:
        opened = open_listed(item)
        if opened is None:  # removed since the walk: not part of the snapshot
            continue
        try:
            entries.append(_add(zf, item.rel, opened, progress))
        finally:
            opened.close()
    return entries


def _write_zip(
    tmp: Path,
    live: list[Listed],
    staged: list[Staged],
    make_manifest: Callable[[list[FileEntry]], BackupManifest],
    progress: Progress,
) -> BackupManifest:
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "wb") as raw:
        with zipfile.ZipFile(raw, "w", compresslevel=1, allowZip64=True) as zf:
            entries = [_add_staged(zf, s, progress) for s in staged]
            entries += _add_live(zf, live, progress)
            manifest = make_manifest(sorted(entries, key=lambda e: e.path))
            info = zipfile.ZipInfo(MANIFEST_NAME, time.gmtime()[:6])
            info.external_attr = (stat.S_IFREG | 0o600) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, encode_manifest(manifest))
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


def make_backup(
    root: DataRoot,
    dest: Path,
    *,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ledger_attempts: int = 5,
) -> BackupManifest:
    """Back up ``root`` (running or not) into the new file ``dest``; the manifest written."""
    progress = progress or NoProgress()
    dest = dest.expanduser().absolute()
    _check_paths(root, dest)
    if not dest.parent.exists():
        ensure_private_dir(dest.parent)
    listing = walk_root(root.root)
    live = [item for item in listing.files if not in_evidence(item.rel)]
    progress.start(sum(item.size for item in listing.files))
    staging = Path(tempfile.mkdtemp(prefix=".mimolo-backup-", dir=dest.parent))
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        staged, ledger = snapshot_ledger(
            lambda: [i for i in walk_root(root.root).files if in_evidence(i.rel)],
            staging,
            EVIDENCE_DIR,
            host_public_key_path(root),
            attempts=ledger_attempts,
        )

        def manifest_of(entries: list[FileEntry]) -> BackupManifest:
            return _manifest(entries, ledger, listing.skipped, now())

        manifest = _write_zip(tmp, live, staged, manifest_of, progress)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _manifest(
    entries: list[FileEntry], ledger: LedgerState, skipped: list[str], created: datetime
) -> BackupManifest:
    return BackupManifest(
        format=FORMAT,
        version=VERSION,
        created=created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        mimolo_version=__version__,
        host=socket.gethostname(),
        files=entries,
        ledger=ledger,
        skipped=skipped,
    )


__all__ = ["default_backup_name", "make_backup"]
