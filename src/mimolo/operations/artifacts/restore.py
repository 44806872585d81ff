"""Restoring an artifact archive into the instance's ``artifacts/``, verified by hash.

The archive is untrusted input (it may have been edited, or copied in from elsewhere):
its manifest must name this instance, its members are checked by ``mimolo.safe_zip``
against exactly the names the manifest lists (under ``artifacts/``), and every file is
extracted into a private staging folder and compared with its manifest sha256 before
anything reaches ``artifacts/``. An existing file with the same bytes is left alone
(``identical``); one with other bytes is a conflict, and ``on_conflict`` decides:
``report`` (the default: nothing is written at all), ``keep_existing`` or ``overwrite``.
Files are moved into place without following links and never over a file silently.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import msgspec

from mimolo.artifact_files import split_rel_path
from mimolo.dataroot import ensure_private_dir
from mimolo.errors import (
    ArchiveDuplicateEntry,
    ArchiveError,
    ArchiveHashMismatch,
    ArtifactError,
    UnsafeArchivePath,
)
from mimolo.operations.artifacts.archive import ARCHIVE_LIMITS
from mimolo.operations.artifacts.files import hash_file, open_dir
from mimolo.operations.artifacts.manifest import (
    MANIFEST_NAME,
    MEMBER_PREFIX,
    ArchiveManifest,
    ManifestEntry,
    read_manifest,
)
from mimolo.safe_zip import check_members, extract_checked, open_zip

OnConflict = Literal["report", "keep_existing", "overwrite"]


class Conflict(msgspec.Struct, frozen=True, kw_only=True):
    rel_path: str
    reason: str


class RestoreResult(msgspec.Struct, frozen=True, kw_only=True):
    restored: int
    identical: int
    conflicts: list[Conflict]
    written: bool
    overwritten: int = 0


def _check_manifest(manifest: ArchiveManifest, plugin_id: str, instance_id: str) -> None:
    if (manifest.plugin_id, manifest.instance_id) != (plugin_id, instance_id):
        raise ArchiveError(
            f"the archive holds {manifest.plugin_id}/{manifest.instance_id}, "
            f"not {plugin_id}/{instance_id}",
            code="archive_wrong_instance",
        )
    seen: set[str] = set()
    for entry in manifest.entries:
        try:
            split_rel_path(entry.rel_path)
        except ArtifactError:
            raise UnsafeArchivePath(
                f"the manifest names {entry.rel_path!r}, outside the instance's artifacts"
            ) from None
        if entry.rel_path in seen:
            raise ArchiveDuplicateEntry(f"the manifest names {entry.rel_path!r} twice")
        seen.add(entry.rel_path)


def _compare(artifacts: Path, entry: ManifestEntry) -> str:
    """``absent``, ``identical``, or why the file there is a conflict."""
    try:
        sha, size, _ = hash_file(artifacts, entry.rel_path)
    except ArtifactError as exc:
        return "absent" if exc.code == "artifact_missing" else "not_a_plain_file"
    return "identical" if (sha, size) == (entry.sha256, entry.bytes) else "different_content"


def _place(staged: Path, artifacts: Path, entry: ManifestEntry, *, replace: bool) -> str | None:
    """Move one verified file into place; the conflict reason if it cannot go there."""
    parts = split_rel_path(entry.rel_path)
    name = parts[-1]
    with open_dir(staged, parts[:-1]) as src:
        os.utime(name, ns=(entry.mtime_ns, entry.mtime_ns), dir_fd=src, follow_symlinks=False)
        try:
            with open_dir(artifacts, parts[:-1], create=True) as dst:
                if replace:
                    os.replace(name, name, src_dir_fd=src, dst_dir_fd=dst)
                else:
                    os.link(name, name, src_dir_fd=src, dst_dir_fd=dst, follow_symlinks=False)
        except FileExistsError:
            return "appeared_during_restore"
        except OSError:  # a link or a file where a folder belongs, a folder in the way
            return "not_a_plain_file"
    return None


def restore_archive(
    instance_dir: Path,
    archive: Path,
    *,
    plugin_id: str,
    instance_id: str,
    on_conflict: OnConflict = "report",
    progress: Callable[[int], None] | None = None,
) -> RestoreResult:
    """Put ``archive``'s files back into ``instance_dir/artifacts`` (see the module doc)."""
    artifacts = ensure_private_dir(instance_dir / "artifacts")
    with open_zip(archive) as zf:
        manifest = read_manifest(zf)
        _check_manifest(manifest, plugin_id, instance_id)
        expected = manifest.expected()
        limits = msgspec.structs.replace(
            ARCHIVE_LIMITS, allowed=frozenset({*expected, MANIFEST_NAME})
        )
        members = {m.filename: m for m in check_members(zf, limits) if not m.is_dir()}
        missing = sorted(expected.keys() - members.keys())
        if missing:
            raise ArchiveHashMismatch(f"the manifest names {missing[0]!r}, which is not in it")
        states = {e.rel_path: _compare(artifacts, e) for e in manifest.entries}
        conflicts = [
            Conflict(rel_path=rel, reason=why)
            for rel, why in states.items()
            if why not in ("absent", "identical")
        ]
        identical = sum(1 for why in states.values() if why == "identical")
        if conflicts and on_conflict == "report":
            return RestoreResult(
                restored=0, identical=identical, conflicts=conflicts, written=False
            )
        replace = {c.rel_path for c in conflicts} if on_conflict == "overwrite" else set()
        todo = [
            e for e in manifest.entries if states[e.rel_path] == "absent" or e.rel_path in replace
        ]
        if not todo:
            return RestoreResult(
                restored=0, identical=identical, conflicts=conflicts, written=False
            )
        staging = ensure_private_dir(instance_dir / "archives") / f".restore-{secrets.token_hex(8)}"
        staging.mkdir(mode=0o700)
        try:
            extract_checked(
                zf,
                [members[MEMBER_PREFIX + e.rel_path] for e in todo],
                staging,
                {MEMBER_PREFIX + e.rel_path: expected[MEMBER_PREFIX + e.rel_path] for e in todo},
                limits,
                progress=progress,
            )
            late: list[Conflict] = []
            for entry in todo:
                why = _place(
                    staging / "artifacts", artifacts, entry, replace=entry.rel_path in replace
                )
                if why is not None:
                    late.append(Conflict(rel_path=entry.rel_path, reason=why))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    kept = [c for c in conflicts if c.rel_path not in replace]
    return RestoreResult(
        restored=len(todo) - len(late),
        identical=identical,
        conflicts=kept + late,
        written=len(todo) > len(late),
        overwritten=len(replace) - sum(1 for c in late if c.rel_path in replace),
    )


__all__ = ["Conflict", "OnConflict", "RestoreResult", "restore_archive"]
