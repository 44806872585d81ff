"""The archives of one instance: listing them and finding one by id.

Each ``archives/<archive_id>.zip`` has its listing item beside it
(``<archive_id>.json``); an archive without one (copied in by hand, restored from a
backup made elsewhere) gets it made once, from its manifest and a hash of the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import msgspec

from mimolo.dataroot import write_atomic
from mimolo.errors import ArchiveError, UnsafeArchiveError
from mimolo.operations.artifacts.files import CHUNK
from mimolo.operations.artifacts.manifest import (
    ARCHIVE_ID,
    ArchiveItem,
    check_archive_id,
    item_for,
    read_manifest,
)
from mimolo.safe_zip import open_zip

log = logging.getLogger(__name__)


def archive_path(instance_dir: Path, archive_id: str) -> Path:
    """The archive's file, if it is a plain file of this instance (``archive_unknown``)."""
    path = instance_dir / "archives" / f"{check_archive_id(archive_id)}.zip"
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        raise ArchiveError(f"no archive {archive_id!r}", code="archive_unknown") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArchiveError(f"archive {archive_id!r} is not a file", code="archive_unknown")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _item(path: Path, archive_id: str) -> ArchiveItem:
    sidecar = path.with_suffix(".json")
    size = os.stat(path, follow_symlinks=False).st_size
    try:
        item = msgspec.json.decode(sidecar.read_bytes(), type=ArchiveItem)
        if item.archive_id == archive_id and item.file_bytes == size:
            return item
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        pass
    with open_zip(path) as zf:
        manifest = read_manifest(zf)
    item = item_for(archive_id, manifest, file_sha256(path), size)
    write_atomic(sidecar, msgspec.json.encode(item))
    return item


def list_archives(instance_dir: Path) -> list[ArchiveItem]:
    """Every readable archive of the instance, oldest first (unreadable ones are logged)."""
    folder = instance_dir / "archives"
    out: list[ArchiveItem] = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return out
    for name in names:
        archive_id = name[:-4]
        if not name.endswith(".zip") or not ARCHIVE_ID.fullmatch(archive_id):
            continue
        try:
            archive_path(instance_dir, archive_id)
            out.append(_item(folder / name, archive_id))
        except (ArchiveError, UnsafeArchiveError, OSError) as exc:
            log.warning("archive %s of %s is unreadable: %s", name, instance_dir, exc)
    out.sort(key=lambda item: (item.created, item.archive_id))
    return out


__all__ = ["archive_path", "file_sha256", "list_archives"]
