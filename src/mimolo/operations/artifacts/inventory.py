"""The artifact inventory of one instance: what is stored, how much, how old.

An index under the instance's ``index/.inventory.json`` (a dot name, so it cannot collide
with an agent's own index files) remembers every folder's mtime and its files. A refresh
stats each folder and lists again only the folders whose mtime moved (creating, renaming
or deleting a file moves it), so an unchanged tree of 100,000 files costs a few hundred
``stat`` calls. A folder changed within the last two seconds is listed again next time
too, because a change in the same clock tick would not move its mtime. A file rewritten
in place (same name, no rename) is only seen when its folder changes.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec

from mimolo.dataroot import write_atomic
from mimolo.operations.artifacts.files import is_work_in_progress

INDEX_NAME: Final = ".inventory.json"
DEFAULT_CLASS: Final = "default"
RACY_NS: Final = 2_000_000_000
# Warning codes (``warnings[].code``): advice in an answer, not errors.
WARN_BYTES: Final = "artifact_bytes_over"
WARN_FILES: Final = "artifact_files_over"
WARN_AGE: Final = "artifact_age_over"
_VERSION: Final = 1


class IndexedFile(msgspec.Struct, array_like=True, frozen=True):
    name: str
    bytes: int
    mtime_ns: int


class IndexedDir(msgspec.Struct, array_like=True, frozen=True):
    mtime_ns: int
    racy: bool
    files: tuple[IndexedFile, ...]
    dirs: tuple[str, ...]


class InventoryIndex(msgspec.Struct, kw_only=True):
    version: int = _VERSION
    dirs: dict[str, IndexedDir] = {}


class ArtifactFile(msgspec.Struct, frozen=True, kw_only=True):
    """One artifact as the inventory knows it (``rel_path`` relative to ``artifacts/``)."""

    rel_path: str
    bytes: int
    mtime_ns: int


class ClassTotals(msgspec.Struct, kw_only=True):
    retention_class: str
    bytes: int = 0
    files: int = 0
    oldest: str | None = None
    newest: str | None = None


class InventoryWarning(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class WarnLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds from ``[settings]``; 0 turns one off."""

    bytes: int = 0
    files: int = 0
    age_days: int = 0


class Inventory(msgspec.Struct, kw_only=True):
    instance_id: str
    plugin_id: str
    total_bytes: int
    total_files: int
    oldest: str | None
    newest: str | None
    classes: list[ClassTotals]
    warnings: list[InventoryWarning]
    indexed_at: str
    changed_dirs: int = 0


def iso_ns(ns: int) -> str:
    """A file time as the ISO-8601 UTC text every answer uses."""
    when = datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds")
    return when.replace("+00:00", "Z")


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def _scan(path: Path, now_ns: int) -> IndexedDir | None:
    """List one folder afresh (plain files and folders only; links are not followed)."""
    try:
        info = os.stat(path, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            return None
        files: list[IndexedFile] = []
        dirs: list[str] = []
        with os.scandir(path) as entries:
            for entry in entries:
                if is_work_in_progress(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                elif entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        st = entry.stat(follow_symlinks=False)
                        files.append(IndexedFile(entry.name, st.st_size, st.st_mtime_ns))
    except (FileNotFoundError, NotADirectoryError):
        return None
    racy = now_ns - info.st_mtime_ns < RACY_NS
    files.sort(key=lambda f: f.name)
    return IndexedDir(info.st_mtime_ns, racy, tuple(files), tuple(sorted(dirs)))


def refresh(artifacts: Path, old: InventoryIndex, now_ns: int) -> tuple[InventoryIndex, int]:
    """The index brought up to date, and how many folders had to be listed again."""
    fresh = InventoryIndex()
    changed = 0
    stack = [""]
    while stack:
        rel = stack.pop()
        path = artifacts / rel if rel else artifacts
        cached = old.dirs.get(rel)
        entry: IndexedDir | None
        if cached is not None and not cached.racy:
            try:
                info = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                continue
            entry = cached if info.st_mtime_ns == cached.mtime_ns else None
        else:
            entry = None
        if entry is None:
            entry = _scan(path, now_ns)
            changed += 1
            if entry is None:
                continue
        fresh.dirs[rel] = entry
        stack.extend(_join(rel, name) for name in entry.dirs)
    return fresh, changed


def load_index(path: Path) -> InventoryIndex:
    """The saved index, or an empty one (missing, torn or from another version)."""
    try:
        index = msgspec.json.decode(path.read_bytes(), type=InventoryIndex)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return InventoryIndex()
    return index if index.version == _VERSION else InventoryIndex()


def save_index(path: Path, index: InventoryIndex) -> None:
    write_atomic(path, msgspec.json.encode(index))


def files_of(index: InventoryIndex) -> Iterator[ArtifactFile]:
    """Every indexed artifact, in path order."""
    for rel in sorted(index.dirs):
        for f in index.dirs[rel].files:
            yield ArtifactFile(rel_path=_join(rel, f.name), bytes=f.bytes, mtime_ns=f.mtime_ns)


def retention_class(rel_dir: str) -> str:
    """The first folder under ``artifacts/``; files directly in it are ``default``."""
    return rel_dir.split("/", 1)[0] if rel_dir else DEFAULT_CLASS


def _warnings(
    total_bytes: int, total_files: int, oldest_ns: int | None, limits: WarnLimits, now_ns: int
) -> list[InventoryWarning]:
    out: list[InventoryWarning] = []
    if limits.bytes and total_bytes > limits.bytes:
        out.append(
            InventoryWarning(
                code=WARN_BYTES,
                message=f"{total_bytes} bytes of artifacts (warning above {limits.bytes})",
            )
        )
    if limits.files and total_files > limits.files:
        out.append(
            InventoryWarning(
                code=WARN_FILES,
                message=f"{total_files} artifact files (warning above {limits.files})",
            )
        )
    if limits.age_days and oldest_ns is not None:
        age_days = (now_ns - oldest_ns) / 86_400e9
        if age_days > limits.age_days:
            out.append(
                InventoryWarning(
                    code=WARN_AGE,
                    message=f"the oldest artifact is {int(age_days)} days old "
                    f"(warning above {limits.age_days})",
                )
            )
    return out


def summarize(
    index: InventoryIndex,
    *,
    plugin_id: str,
    instance_id: str,
    limits: WarnLimits,
    now_ns: int,
    changed_dirs: int = 0,
) -> Inventory:
    """Totals per retention class and overall, and the warnings past their thresholds."""
    classes: dict[str, list[int]] = {}  # class -> [bytes, files, oldest_ns, newest_ns]
    for rel, entry in index.dirs.items():
        if not entry.files:
            continue
        row = classes.setdefault(retention_class(rel), [0, 0, 1 << 62, -(1 << 62)])
        row[0] += sum(f.bytes for f in entry.files)
        row[1] += len(entry.files)
        row[2] = min(row[2], min(f.mtime_ns for f in entry.files))
        row[3] = max(row[3], max(f.mtime_ns for f in entry.files))
    rows = [
        ClassTotals(
            retention_class=name,
            bytes=b,
            files=n,
            oldest=iso_ns(lo),
            newest=iso_ns(hi),
        )
        for name, (b, n, lo, hi) in sorted(classes.items())
    ]
    total_bytes = sum(r[0] for r in classes.values())
    total_files = sum(r[1] for r in classes.values())
    oldest_ns = min((r[2] for r in classes.values()), default=None)
    newest_ns = max((r[3] for r in classes.values()), default=None)
    return Inventory(
        instance_id=instance_id,
        plugin_id=plugin_id,
        total_bytes=total_bytes,
        total_files=total_files,
        oldest=None if oldest_ns is None else iso_ns(oldest_ns),
        newest=None if newest_ns is None else iso_ns(newest_ns),
        classes=rows,
        warnings=_warnings(total_bytes, total_files, oldest_ns, limits, now_ns),
        indexed_at=iso_ns(now_ns),
        changed_dirs=changed_dirs,
    )


def take_inventory(instance_dir: Path, *, now_ns: int | None = None) -> tuple[InventoryIndex, int]:
    """Refresh the instance's saved index (writing it back only if something changed)."""
    now = time.time_ns() if now_ns is None else now_ns
    index_path = instance_dir / "index" / INDEX_NAME
    old = load_index(index_path)
    fresh, changed = refresh(instance_dir / "artifacts", old, now)
    if changed or fresh.dirs.keys() != old.dirs.keys():
        save_index(index_path, fresh)
    return fresh, changed


__all__ = [
    "DEFAULT_CLASS",
    "INDEX_NAME",
    "ArtifactFile",
    "ClassTotals",
    "Inventory",
    "InventoryIndex",
    "InventoryWarning",
    "WarnLimits",
    "files_of",
    "iso_ns",
    "load_index",
    "refresh",
    "retention_class",
    "save_index",
    "summarize",
    "take_inventory",
]
