"""The cgroup v2 subtree that holds one data root's agents: ``<our cgroup>/mimolo-<hash>/<id>``.

cgroup v2's no-internal-process rule: only leaf cgroups may hold processes once domain
controllers are enabled below them. We never enable controllers and never put a process in
``mimolo-<hash>`` itself, so each instance cgroup is a leaf and Operations stays where it was
started (systemd's delegated user cgroup on a desktop, a writable cgroupfs as root).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from mimolo.slugs import check_slug


def _unescape(field: str) -> str:
    r"""``/proc/self/mountinfo`` escapes space, tab, newline and backslash as ``\ooo``."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


def cgroup2_mount() -> tuple[str, Path] | None:
    """(the mount's root inside the hierarchy, its mount point), or None."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as lines:
            for line in lines:
                left, _, right = line.partition(" - ")
                fields = left.split()
                if right.split()[:1] == ["cgroup2"] and len(fields) >= 5:
                    return _unescape(fields[3]), Path(_unescape(fields[4]))
    except OSError:
        pass
    try:
        with open("/proc/self/mounts", encoding="utf-8") as lines:
            for line in lines:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "cgroup2":
                    return "/", Path(_unescape(fields[1]))
    except OSError:
        pass
    return None


def own_cgroup() -> str | None:
    """Our cgroup v2 path (the ``0::`` line of ``/proc/self/cgroup``)."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return None


class CgroupTree:
    """``base`` = ``<our cgroup>/<name>``; one leaf cgroup per instance below it."""

    def __init__(self, ours: Path, base: Path) -> None:
        self.ours = ours
        self.base = base

    @classmethod
    def for_us(cls, name: str) -> CgroupTree | str:
        """The tree under our own cgroup, or why there is none (nothing is created)."""
        if not sys.platform.startswith("linux"):
            return "not Linux"
        mount = cgroup2_mount()
        if mount is None:
            return "no cgroup2 mount in /proc/self/mountinfo"
        mount_root, mount_point = mount
        ours = own_cgroup()
        if ours is None:
            return "no 0:: line in /proc/self/cgroup"
        relative = os.path.relpath(ours, mount_root)
        if relative.startswith(".."):
            return f"our cgroup {ours} is outside the cgroup2 mount"
        path = Path(os.path.normpath(mount_point / relative))
        return cls(path, path / name)

    def prepare(self) -> str | None:
        """Create ``base`` if we may; None when usable, else why not."""
        if not (self.ours / "cgroup.procs").is_file():
            return f"our cgroup {self.ours} is not visible"
        if not os.access(self.ours / "cgroup.procs", os.W_OK):
            return f"no write access to {self.ours}/cgroup.procs (not a delegated subtree)"
        try:
            self.base.mkdir(exist_ok=True)
        except OSError as exc:
            return f"cannot create {self.base}: {exc.strerror}"
        if not (self.base / "cgroup.kill").is_file():
            self.remove(self.base)
            return "the kernel has no cgroup.kill (needs Linux 5.14+)"
        kind = _read(self.base / "cgroup.type").strip()
        if kind not in ("domain", ""):
            self.remove(self.base)
            return f"{self.base} is a {kind!r} cgroup, not a domain"
        return None

    def instance(self, instance_id: str) -> Path:
        return self.base / check_slug(instance_id, "instance_id")

    def ensure(self, instance_id: str) -> Path:
        path = self.instance(instance_id)
        self.base.mkdir(exist_ok=True)
        path.mkdir(exist_ok=True)
        return path

    def instances(self) -> list[Path]:
        try:
            return sorted(p for p in self.base.iterdir() if p.is_dir())
        except OSError:
            return []

    def procs(self, path: Path) -> set[int]:
        """Every pid in ``path`` and the cgroups an agent may have made below it."""
        pids: set[int] = set()
        for directory, _subdirs, _files in os.walk(path):
            text = _read(Path(directory) / "cgroup.procs")
            pids.update(int(word) for word in text.split() if word.isdigit())
        return pids

    def kill(self, path: Path) -> set[int]:
        """SIGKILL the whole subtree at once; the pids it held."""
        pids = self.procs(path)
        if pids:
            try:
                fd = os.open(path / "cgroup.kill", os.O_WRONLY)
            except OSError:
                return set()
            try:
                os.write(fd, b"1")
            finally:
                os.close(fd)
        return pids

    def populated(self, path: Path) -> bool:
        """Whether any live process is left below ``path`` (zombies do not count)."""
        return "populated 1" in _read(path / "cgroup.events")

    def remove(self, path: Path) -> None:
        """rmdir ``path`` and its sub-cgroups, deepest first; a busy one is left."""
        for directory, _subdirs, _files in os.walk(path, topdown=False):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return ""


__all__ = ["CgroupTree", "cgroup2_mount", "own_cgroup"]
