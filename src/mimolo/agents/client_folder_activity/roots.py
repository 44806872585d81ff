"""Watch roots: naming changed paths relative to their root, presence transitions, baseline."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePath

import msgspec

from mimolo.agents.client_folder_activity.coalesce import FileId
from mimolo.agents.client_folder_activity.globs import PathFilter


class WatchRoot(msgspec.Struct, frozen=True):
    """One configured folder and the prefix its relative paths get in summaries."""

    path: Path
    prefix: str

    def display(self, rel_posix: str) -> str:
        """A relative path as reported (prefixed when several roots are watched)."""
        return f"{self.prefix}/{rel_posix}" if self.prefix else rel_posix


def make_roots(paths: Sequence[str]) -> list[WatchRoot]:
    """Absolute roots; with several, each gets its folder name (deduplicated) as prefix."""
    resolved: list[Path] = []
    for raw in paths:
        path = Path(os.path.expanduser(raw)).absolute()
        if path not in resolved:
            resolved.append(path)
    if len(resolved) == 1:
        return [WatchRoot(resolved[0], "")]
    roots: list[WatchRoot] = []
    used: set[str] = set()
    for path in resolved:
        base = path.name or "root"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}#{n}"
        used.add(name)
        roots.append(WatchRoot(path, name))
    return roots


def relative_to_root(roots: Sequence[WatchRoot], path: str) -> tuple[WatchRoot, str] | None:
    """The root a changed path lies under and its POSIX path relative to it."""
    best: tuple[WatchRoot, str] | None = None
    for root in roots:
        base = str(root.path)
        if path.startswith(base + os.sep) and (best is None or len(base) > len(str(best[0].path))):
            best = (root, PurePath(path[len(base) + 1 :]).as_posix())
    return best


def overlaps_data_root(root: Path, data_root: Path | None) -> bool:
    """Whether a watch root is the data root, inside it, or one of its parents."""
    if data_root is None:
        return False
    try:
        a, b = root.resolve(), data_root.resolve()
    except OSError:
        return False
    return a == b or a in b.parents or b in a.parents


def is_under(path: str, parent: Path | None) -> bool:
    """Whether ``path`` lies inside ``parent`` (string prefix on absolute paths)."""
    return parent is not None and (path == str(parent) or path.startswith(str(parent) + os.sep))


class Presence:
    """Which roots are missing; reports each missing/restored transition exactly once."""

    def __init__(self, roots: Sequence[WatchRoot]) -> None:
        self._missing: set[Path] = set()
        self.roots = list(roots)

    @property
    def missing(self) -> list[Path]:
        """Roots missing at the last check."""
        return sorted(self._missing)

    def update(self, existing: set[Path]) -> tuple[list[Path], list[Path]]:
        """Given the roots that exist now: (newly missing, newly restored)."""
        now_missing = {r.path for r in self.roots if r.path not in existing}
        gone = sorted(now_missing - self._missing)
        back = sorted(self._missing - now_missing)
        self._missing = now_missing
        return gone, back

    def check(self) -> tuple[list[Path], list[Path]]:
        """Stat the roots and report transitions."""
        return self.update({r.path for r in self.roots if r.path.is_dir()})


def file_id(st: os.stat_result) -> FileId:
    """The identity the coalescer pairs renames on."""
    return FileId(dev=st.st_dev, ino=st.st_ino, size=st.st_size)


def scan_baseline(
    root: WatchRoot,
    path_filter: PathFilter,
    *,
    follow_symlinks: bool,
    skip: Path | None,
    limit: int,
) -> Iterator[tuple[str, FileId]]:
    """Existing files under a root (bounded), so they are never reported as created."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root.path, followlinks=follow_symlinks):
        rel_dir = PurePath(os.path.relpath(dirpath, root.path)).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = [
            d
            for d in dirnames
            if not path_filter.is_excluded_dir(f"{rel_dir}/{d}" if rel_dir else d)
            and not is_under(os.path.join(dirpath, d), skip)
        ]
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not path_filter.accepts(rel):
                continue
            try:
                st = os.stat(os.path.join(dirpath, name), follow_symlinks=follow_symlinks)
            except OSError:
                continue
            yield root.display(rel), file_id(st)
            count += 1
            if count >= limit:
                return


__all__ = [
    "Presence",
    "WatchRoot",
    "file_id",
    "is_under",
    "make_roots",
    "overlaps_data_root",
    "relative_to_root",
    "scan_baseline",
]
