"""An artifact archive's ``manifest.json`` and the listing item beside each archive.

The manifest names the instance, the time range asked for, every entry with its
``rel_path`` (relative to ``artifacts/``), sha256, bytes and mtime, and how to restore it
(the subtree and the member prefix). The listing item (``archives/<archive_id>.json``)
caches what ``list_instance_archives`` answers, including the zip file's own sha256, so a
listing never re-reads gigabytes.
"""

from __future__ import annotations

import re
import zipfile
from typing import Final, Literal

import msgspec

from mimolo.errors import ArchiveError, UnsafeArchiveError

MANIFEST_NAME: Final = "manifest.json"
MEMBER_PREFIX: Final = "artifacts/"
FORMAT: Final = "mimolo-artifact-archive"
MAX_MANIFEST_BYTES: Final = 128 * 1024 * 1024
ARCHIVE_ID: Final = re.compile(r"[0-9]{8}_[a-z0-9][a-z0-9_-]{0,200}")


class ManifestEntry(msgspec.Struct, frozen=True, kw_only=True):
    rel_path: str
    sha256: str
    bytes: int
    mtime: str
    mtime_ns: int


class TimeRange(msgspec.Struct, frozen=True, kw_only=True):
    start: str | None = None
    end: str | None = None


class RestoreInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where the entries go back: ``<instance>/<subtree>/``, members under ``prefix``."""

    subtree: Literal["artifacts"] = "artifacts"
    member_prefix: str = MEMBER_PREFIX
    instance_path: str = ""
    on_conflict_default: str = "report"


class ArchiveManifest(msgspec.Struct, frozen=True, kw_only=True):
    format: Literal["mimolo-artifact-archive"] = FORMAT
    version: int = 1
    plugin_id: str
    instance_id: str
    created: str
    range: TimeRange
    oldest: str | None
    newest: str | None
    files: int
    bytes: int
    entries: list[ManifestEntry]
    restore: RestoreInfo
    mimolo_version: str = ""

    def expected(self) -> dict[str, tuple[str, int]]:
        """Member name -> (sha256, bytes), as ``safe_zip`` checks them."""
        return {MEMBER_PREFIX + e.rel_path: (e.sha256, e.bytes) for e in self.entries}


class ArchiveItem(msgspec.Struct, frozen=True, kw_only=True):
    """One archive as ``list_instance_archives`` answers it."""

    archive_id: str
    file: str
    created: str
    start: str | None
    end: str | None
    entries: int
    bytes: int
    sha256: str
    file_bytes: int
    oldest: str | None = None
    newest: str | None = None


def item_for(archive_id: str, manifest: ArchiveManifest, sha256: str, size: int) -> ArchiveItem:
    return ArchiveItem(
        archive_id=archive_id,
        file=f"archives/{archive_id}.zip",
        created=manifest.created,
        start=manifest.range.start,
        end=manifest.range.end,
        entries=manifest.files,
        bytes=manifest.bytes,
        sha256=sha256,
        file_bytes=size,
        oldest=manifest.oldest,
        newest=manifest.newest,
    )


def read_manifest(zf: zipfile.ZipFile) -> ArchiveManifest:
    """The archive's manifest, size-capped and validated (``archive_invalid`` otherwise)."""
    try:
        info = zf.getinfo(MANIFEST_NAME)
    except KeyError:
        raise UnsafeArchiveError("the archive has no manifest.json") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise UnsafeArchiveError("the archive's manifest.json is over its size cap")
    try:
        with zf.open(info) as src:
            body = src.read(MAX_MANIFEST_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise UnsafeArchiveError(f"the archive's manifest.json is unreadable ({exc})") from None
    if len(body) > MAX_MANIFEST_BYTES:
        raise UnsafeArchiveError("the archive's manifest.json is over its size cap")
    try:
        return msgspec.json.decode(body, type=ArchiveManifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnsafeArchiveError(f"the archive's manifest.json does not validate: {exc}") from None


def check_archive_id(archive_id: str) -> str:
    if not isinstance(archive_id, str) or not ARCHIVE_ID.fullmatch(archive_id):
        raise ArchiveError(f"no archive {archive_id!r}", code="archive_unknown")
    return archive_id


__all__ = [
    "MANIFEST_NAME",
    "MEMBER_PREFIX",
    "ArchiveItem",
    "ArchiveManifest",
    "ManifestEntry",
    "RestoreInfo",
    "TimeRange",
    "check_archive_id",
    "item_for",
    "read_manifest",
]
