"""The data root: where everything MiMoLo keeps lives, owner-only (dirs 0700, files 0600).

``MIMOLO_DATA_DIR`` if set, else the platform user data dir for ``mimolo``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import platformdirs

from mimolo.slugs import check_slug

ENV_DATA_DIR: Final = "MIMOLO_DATA_DIR"
DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def default_root() -> Path:
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser().absolute()
    return Path(platformdirs.user_data_dir("mimolo", appauthor=False))


@dataclass(frozen=True)
class DataRoot:
    """Paths of DESIGN §2. Pure path arithmetic; ``ensure`` creates the skeleton."""

    root: Path

    @classmethod
    def resolve(cls, explicit: Path | str | None = None) -> DataRoot:
        return cls(Path(explicit).expanduser().absolute() if explicit else default_root())

    # operations/
    @property
    def operations_dir(self) -> Path:
        return self.root / "operations"

    @property
    def config_path(self) -> Path:
        return self.operations_dir / "agent_config.toml"

    @property
    def evidence_dir(self) -> Path:
        return self.operations_dir / "evidence"

    @property
    def diagnostics_dir(self) -> Path:
        return self.operations_dir / "diagnostics"

    @property
    def lock_path(self) -> Path:
        return self.operations_dir / "ops.lock"

    @property
    def socket_path(self) -> Path:
        return self.operations_dir / "ops.sock"

    @property
    def state_path(self) -> Path:
        """Atomic snapshot of agent states for readers (``mimolo status``, Control)."""
        return self.operations_dir / "state.json"

    def evidence_file(self, day: date) -> Path:
        return self.evidence_dir / f"{day:%Y}" / f"{day:%Y%m%d}.evidence.jsonl"

    def diagnostics_file(self, day: date) -> Path:
        return self.diagnostics_dir / f"{day:%Y%m%d}.diagnostics.jsonl"

    # the rest of the tree
    @property
    def packages_dir(self) -> Path:
        return self.root / "packages"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    @property
    def agents_dir(self) -> Path:
        return self.root / "agents"

    def instance_dir(self, plugin_id: str, instance_id: str) -> Path:
        return (
            self.agents_dir
            / check_slug(plugin_id, "plugin_id")
            / check_slug(instance_id, "instance_id")
        )

    @property
    def control_dir(self) -> Path:
        return self.root / "control"

    @property
    def reports_dir(self) -> Path:
        return self.control_dir / "reports"

    @property
    def templates_dir(self) -> Path:
        return self.control_dir / "templates"

    @property
    def cache_dir(self) -> Path:
        """Control's derived copies (decoded days, kept review pieces): safe to delete."""
        return self.control_dir / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> DataRoot:
        """Create the skeleton with owner-only modes (tightening any that exist)."""
        for path in (
            self.root,
            self.operations_dir,
            self.evidence_dir,
            self.diagnostics_dir,
            self.packages_dir,
            self.trust_dir,
            self.agents_dir,
            self.control_dir,
            self.reports_dir,
            self.templates_dir,
            self.logs_dir,
        ):
            ensure_private_dir(path)
        return self


def ensure_private_dir(path: Path) -> Path:
    """``mkdir -p`` with mode 0700 on every directory created, and on ``path`` itself.

    ``Path.mkdir(parents=True)`` would create the parents with the default mode, so the
    missing ancestors are made one by one, outermost first.
    """
    missing: list[Path] = []
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing.append(ancestor)
        ancestor = ancestor.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(directory, DIR_MODE)
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _ensure_parent(path: Path) -> None:
    """Create a missing parent 0700; an existing one is left as it is (it may be the user's
    own folder, such as /tmp or ~/Desktop for an exported file: never tighten those)."""
    if not path.parent.is_dir():
        ensure_private_dir(path.parent)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """Open (creating 0600) and return a raw fd. Missing parents are created 0700."""
    _ensure_parent(path)
    with _umask(0o077):
        return os.open(path, flags | os.O_CLOEXEC, FILE_MODE)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename), mode 0600.

    ``durable=False`` skips the fsync, for caches whose torn copy after a crash is only a
    miss (a checksum or a decode error tells)."""
    _ensure_parent(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk leaves no partial temp file
            os.unlink(tmp)
        raise


__all__ = [
    "DIR_MODE",
    "ENV_DATA_DIR",
    "FILE_MODE",
    "DataRoot",
    "default_root",
    "ensure_private_dir",
    "open_private",
    "write_atomic",
]
