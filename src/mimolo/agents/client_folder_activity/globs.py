"""Which changed paths count: include/exclude globs over root-relative POSIX paths (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

import msgspec

from mimolo.errors import ConfigError


class PathFilter(msgspec.Struct, frozen=True):
    """Compiled include/exclude rules.

    ``"name/"`` ignores a directory of that name at any depth; a pattern with a ``/`` is
    matched against the whole relative path; any other pattern against the file name.
    An empty include list includes every file.
    """

    include: tuple[str, ...] = ()
    exclude_dirs: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def compile(
        cls, include_globs: Sequence[str], exclude_globs: Sequence[str], *, key: str = "params"
    ) -> PathFilter:
        """Validate and split the user's globs; bad patterns raise ConfigError naming them."""
        include: list[str] = []
        exclude_dirs: list[str] = []
        exclude: list[str] = []
        for name, patterns, out in (
            ("include_globs", include_globs, include),
            ("exclude_globs", exclude_globs, exclude),
        ):
            for i, raw in enumerate(patterns):
                pattern = raw.strip().replace("\\", "/")
                if not pattern or pattern in ("/", "./"):
                    raise ConfigError("empty glob", field=f"{key}.{name}[{i}]")
                if pattern.endswith("/") and out is exclude:
                    exclude_dirs.append(pattern.strip("/"))
                else:
                    out.append(pattern.lstrip("/"))
        return cls(tuple(include), tuple(exclude_dirs), tuple(exclude))

    def is_excluded_dir(self, rel_dir: str) -> bool:
        """Whether a directory (relative, POSIX) is pruned entirely."""
        parts = PurePosixPath(rel_dir).parts
        return any(fnmatchcase(part, pat) for part in parts for pat in self.exclude_dirs)

    def accepts(self, rel_path: str) -> bool:
        """Whether a changed file at ``rel_path`` (relative, POSIX) is counted."""
        path = PurePosixPath(rel_path)
        parts = path.parts
        if not parts:
            return False
        for part in parts[:-1]:
            if any(fnmatchcase(part, pat) for pat in self.exclude_dirs):
                return False
        name = parts[-1]
        # A directory-only rule also names the directory entry itself.
        if any(fnmatchcase(name, pat) for pat in self.exclude_dirs):
            return False
        if any(_match(pat, name, rel_path) for pat in self.exclude):
            return False
        if not self.include:
            return True
        return any(_match(pat, name, rel_path) for pat in self.include)


def _match(pattern: str, name: str, rel_path: str) -> bool:
    if "/" in pattern:
        return fnmatchcase(rel_path, pattern)
    return fnmatchcase(name, pattern)


def extension_of(rel_path: str) -> str:
    """A file's lower-case extension with its dot (``".dwg"``), or ``""``."""
    suffix = PurePosixPath(rel_path).suffix.lower()
    if len(suffix) > 16 or not suffix[1:].replace("_", "").replace("-", "").isalnum():
        return ""
    return suffix


__all__ = ["PathFilter", "extension_of"]
