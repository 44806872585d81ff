"""``restore_backup``: a backup into an empty (or absent) folder, all or nothing.

The zip is checked as strictly as a package (``safe_zip``: names, types, sizes, every
file's real bytes against the manifest's sha256) before and while anything is written;
files land in a private staging folder beside the target, get owner-only modes back, the
restored ledger must verify as the manifest says it did, and only then does the staging
folder become the target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mimolo.backup.ledger_copy import verify_copy
from mimolo.backup.manifest import MANIFEST_NAME, BackupManifest, decode_manifest
from mimolo.backup.progress import NoProgress, Progress
from mimolo.backup.select import EVIDENCE_DIR
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import BackupError, UnsafeArchiveError
from mimolo.evidence.verify import Report
from mimolo.operations.host_key import PUBLIC_NAME
from mimolo.safe_zip import ZipLimits, check_members, check_name, extract_checked, open_zip

MAX_MANIFEST_BYTES = 256 << 20
# A few more entries than the manifest names, so an extra one is refused by its name
# (``archive_unexpected_entry``) rather than by the count.
_SLACK_ENTRIES = 64


@dataclass(frozen=True)
class RestoreResult:
    manifest: BackupManifest
    report: Report  # the restored ledger's verification
    files: int
    bytes: int


def check_target(target: Path) -> None:
    """Only an empty folder, or none at all (its parent is created 0700)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise BackupError(f"{target} is not a folder", code="restore_target_not_empty")
    if target.exists() and any(target.iterdir()):
        raise BackupError(
            f"{target} is not empty: a restore goes only into an empty or new folder",
            code="restore_target_not_empty",
        )


def read_manifest(zf: zipfile.ZipFile) -> BackupManifest:
    try:
        info = zf.getinfo(MANIFEST_NAME)
    except KeyError:
        raise BackupError("not a MiMoLo backup: no manifest.json", code="backup_invalid") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise BackupError("manifest.json is implausibly large", code="backup_invalid")
    try:
        with zf.open(info) as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UnsafeArchiveError(f"manifest.json is unreadable ({exc})") from None
    try:
        manifest = decode_manifest(raw[:MAX_MANIFEST_BYTES])
    except ValueError as exc:
        raise BackupError(str(exc), code="backup_invalid") from None
    for entry in manifest.files:
        check_name(entry.path)
    return manifest


def limits_for(manifest: BackupManifest) -> ZipLimits:
    """Caps taken from the manifest itself: nothing beyond what it declares fits."""
    names = [entry.path for entry in manifest.files]
    if len(set(names)) != len(names) or MANIFEST_NAME in names:
        raise BackupError("the manifest names a file twice", code="backup_invalid")
    largest = max((entry.bytes for entry in manifest.files), default=0)
    return ZipLimits(
        max_entries=len(names) + 1 + _SLACK_ENTRIES,
        max_entry_bytes=max(largest, MAX_MANIFEST_BYTES),
        max_total_bytes=manifest.total_bytes + MAX_MANIFEST_BYTES,
        allowed=frozenset(names) | {MANIFEST_NAME},
    )


def _checked_members(zf: zipfile.ZipFile, manifest: BackupManifest) -> list[zipfile.ZipInfo]:
    members = check_members(zf, limits_for(manifest))
    present = {info.filename for info in members if not info.is_dir()}
    missing = sorted({entry.path for entry in manifest.files} - present)
    if missing:
        raise BackupError(
            f"the backup lacks {len(missing)} file(s) its manifest names, e.g. {missing[0]}",
            code="backup_invalid",
        )
    return [info for info in members if info.filename != MANIFEST_NAME and not info.is_dir()]


def _restore_metadata(staging: Path, manifest: BackupManifest) -> None:
    for entry in manifest.files:
        path = staging / entry.path
        os.chmod(path, (entry.mode & 0o700) | 0o600)
        if entry.mtime_ns:
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns), follow_symlinks=False)


def _verify_restored(staging: Path, manifest: BackupManifest) -> Report:
    report = verify_copy(staging / EVIDENCE_DIR, staging / "trust" / PUBLIC_NAME)
    ledger = manifest.ledger
    if ledger.verified and not report.ok:
        first = report.problems[0]
        raise BackupError(
            f"the restored evidence does not verify: {first.kind} {first.file}: {first.message}",
            code="backup_does_not_verify",
        )
    if report.last_seq != ledger.last_seq or report.last_hash != ledger.last_hash:
        raise BackupError(
            f"the restored ledger ends at seq {report.last_seq}, the backup's at {ledger.last_seq}",
            code="backup_does_not_verify",
        )
    return report


def _progress_of(progress: Progress) -> Callable[[int], None]:
    done = 0

    def on_total(total: int) -> None:
        nonlocal done
        progress.advance(total - done)
        done = total

    return on_total


def restore_backup(
    backup: Path, target: Path, *, progress: Progress | None = None
) -> RestoreResult:
    """Restore ``backup`` into ``target`` (empty or absent); refuse anything not exact."""
    progress = progress or NoProgress()
    target = target.expanduser().absolute()
    check_target(target)
    with open_zip(backup) as zf:
        manifest = read_manifest(zf)
        members = _checked_members(zf, manifest)
        ensure_private_dir(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
        try:
            progress.start(manifest.total_bytes)
            expected = {entry.path: (entry.sha256, entry.bytes) for entry in manifest.files}
            extract_checked(
                zf,
                members,
                staging,
                expected,
                limits_for(manifest),
                progress=_progress_of(progress),
            )
            _restore_metadata(staging, manifest)
            report = _verify_restored(staging, manifest)
            DataRoot(staging).ensure()
            check_target(target)  # still empty: nobody wrote there meanwhile
            with contextlib.suppress(FileNotFoundError):
                target.rmdir()
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return RestoreResult(manifest, report, len(manifest.files), manifest.total_bytes)


__all__ = ["RestoreResult", "check_target", "limits_for", "read_manifest", "restore_backup"]
