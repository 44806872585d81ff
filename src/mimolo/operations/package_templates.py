"""Installed packages as agent templates, and their launch-time verification (DESIGN §9).

``packages/<plugin_id>/<version>/`` holds a package's payload beside the ``manifest.json``
and ``manifest.sig`` it was installed from. ``PackageCatalog`` reads that tree into
``PackageTemplate``s (the highest installed version of each plugin is the one instances
run), resolved after the built-ins. Before every spawn of a package instance
``launch_refusal`` re-checks the installed files against the signed manifest (hashes
cached by path, size, mtime and inode, re-hashed when any changes) and, in release mode,
the signature and the allowlist; a refusal keeps the agent from starting.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.config import TemplateResolver
from mimolo.operations.package_trust import TrustView, trust_view
from mimolo.packages.manifest import INTERPRETERS, PackageManifest, decode_manifest
from mimolo.packages.paths import RESERVED
from mimolo.packages.signing import RawPackage
from mimolo.packages.versions import compare_versions, is_version
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)

STAGING: Final = ".staging"
"""The folder under ``packages/`` where installs are unpacked before they move into place."""
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"


class PackageTemplate(AgentTemplate, frozen=True, kw_only=True):
    """A template that runs an installed package's entry (an argv list, never a shell)."""

    package_dir: str
    entry: tuple[str, ...]
    package_hash: str
    publisher: str | None = None
    capabilities: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        return entry_argv(self.entry, Path(self.package_dir))


def interpreter_path(name: str) -> str:
    """The interpreter an entry names, found by Operations (never by the package)."""
    if name == "python3":
        return sys.executable
    if name == "sh":
        return "/bin/sh"
    return shutil.which(name, path=os.defpath + ":/usr/local/bin") or f"/usr/bin/{name}"


def entry_argv(entry: tuple[str, ...], package_dir: Path) -> list[str]:
    """The command line of a manifest entry: its packaged file made absolute."""
    if entry[0] in INTERPRETERS:
        return [interpreter_path(entry[0]), str(package_dir / entry[1]), *entry[2:]]
    return [str(package_dir / entry[0]), *entry[1:]]


class InstalledPackage(msgspec.Struct, frozen=True, kw_only=True):
    """One ``packages/<plugin_id>/<version>/`` folder as read from disk."""

    plugin_id: str
    version: str
    path: str
    manifest: PackageManifest
    manifest_bytes: bytes
    signature: bytes | None

    @property
    def raw(self) -> RawPackage:
        return RawPackage(self.manifest, self.manifest_bytes, self.signature)


def read_installed(folder: Path) -> InstalledPackage:
    """The package installed in ``folder`` (its manifest and signature), or MimoloError."""
    try:
        manifest_bytes = (folder / MANIFEST).read_bytes()
    except OSError as exc:
        raise MimoloError(
            f"{folder}: no readable manifest.json ({exc.strerror})", code="package_tampered"
        ) from None
    try:
        signature: bytes | None = (folder / SIGNATURE).read_bytes()
    except FileNotFoundError:
        signature = None
    manifest = decode_manifest(manifest_bytes)
    if manifest.plugin_id != folder.parent.name or manifest.version != folder.name:
        raise MimoloError(
            f"{folder}: holds {manifest.plugin_id} {manifest.version}", code="package_tampered"
        )
    return InstalledPackage(
        plugin_id=manifest.plugin_id,
        version=manifest.version,
        path=str(folder),
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        signature=signature,
    )


def scan_packages(packages_dir: Path) -> Iterator[InstalledPackage | tuple[Path, str]]:
    """Every installed package folder, or ``(folder, why)`` for one that cannot be read."""
    if not packages_dir.is_dir():
        return
    for plugin_dir in sorted(packages_dir.iterdir()):
        if not is_slug(plugin_dir.name) or not plugin_dir.is_dir():
            continue
        for folder in sorted(plugin_dir.iterdir()):
            if not is_version(folder.name):
                continue
            try:
                yield read_installed(folder)
            except MimoloError as exc:
                yield folder, f"{exc.code}: {exc.message}"


def current_versions(installed: list[InstalledPackage]) -> dict[str, InstalledPackage]:
    """The highest installed version of each plugin: the one its instances run."""
    best: dict[str, InstalledPackage] = {}
    for package in installed:
        have = best.get(package.plugin_id)
        if have is None or compare_versions(package.version, have.version) > 0:
            best[package.plugin_id] = package
    return best


def template_of(package: InstalledPackage, trust: TrustView) -> PackageTemplate:
    m = package.manifest
    return PackageTemplate(
        plugin_id=m.plugin_id,
        label=m.label,
        description=m.description,
        version=m.version,
        module="",
        activity_mode=m.activity_mode,
        params=tuple(m.params),
        builtin=False,
        verified=trust.verified,
        package_dir=package.path,
        entry=tuple(m.entry),
        package_hash=package.raw.package_hash,
        publisher=trust.signer,
        capabilities=tuple(m.capabilities),
    )


FileKey = tuple[str, int, int, int]  # path, size, mtime_ns, inode


def _file_key(path: Path) -> FileKey | str:
    """The stat identity of a plain file, or why it is not one."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"{path.name}: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"{path.name}: not a plain file"
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _tree(root: Path) -> Iterator[str]:
    """Every non-folder entry under ``root`` (relative POSIX paths), links not followed."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), f"{rel}/"))
                else:
                    yield rel


class FileHashCache:
    """SHA-256 of installed files by stat identity: an unchanged file is not read again."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[FileKey, str] = {}
        self._lock = threading.Lock()
        self.limit = limit
        self.hashed = 0  # files actually read (for tests and benchmarks)

    def sha256(self, key: FileKey) -> str:
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        digest = _sha256(Path(key[0]))
        self.hashed += 1
        with self._lock:
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[key] = digest
        return digest


def files_refusal(package: InstalledPackage, cache: FileHashCache) -> str | None:
    """Why the installed files no longer match the signed manifest (None: they do)."""
    root = Path(package.path)
    expected = package.manifest.files
    try:
        present = set(_tree(root)) - RESERVED
    except OSError as exc:
        return f"the package folder cannot be read ({exc.strerror})"
    extra = sorted(present - expected.keys())
    if extra:
        return f"{extra[0]!r} is in the package folder but not in its manifest"
    for rel, entry in expected.items():
        key = _file_key(root / rel)
        if isinstance(key, str):
            return f"{rel!r} is missing or replaced ({key})"
        if key[1] != entry.bytes or cache.sha256(key) != entry.sha256:
            return f"{rel!r} no longer matches its hash in the manifest (changed after install)"
    return None


class PackageCatalog:
    """The installed packages of one data root, as templates; the launch-time check."""

    def __init__(self, data_root: DataRoot) -> None:
        self.data_root = data_root
        self.developer_mode = False  # set by Operations from the flag and the setting
        self.hashes = FileHashCache()
        self._templates: dict[str, PackageTemplate] | None = None
        self._installed: list[InstalledPackage] = []
        self._broken: list[tuple[Path, str]] = []
        self._lock = threading.Lock()

    @property
    def packages_dir(self) -> Path:
        return self.data_root.packages_dir

    def refresh(self) -> None:
        """Read the installed tree again (after an install, upgrade or removal)."""
        installed: list[InstalledPackage] = []
        broken: list[tuple[Path, str]] = []
        for found in scan_packages(self.packages_dir):
            if isinstance(found, InstalledPackage):
                installed.append(found)
            else:
                log.warning("installed package %s is unreadable: %s", *found)
                broken.append(found)
        templates = {
            pid: template_of(package, trust_view(self.data_root, package.raw, developer=False))
            for pid, package in current_versions(installed).items()
        }
        with self._lock:
            self._installed, self._broken, self._templates = installed, broken, templates

    def templates(self) -> dict[str, PackageTemplate]:
        if self._templates is None:
            self.refresh()
        assert self._templates is not None
        return dict(self._templates)

    def resolve(self, plugin_id: str) -> PackageTemplate | None:
        return self.templates().get(plugin_id)

    def installed(self) -> list[InstalledPackage]:
        if self._templates is None:
            self.refresh()
        return list(self._installed)

    def broken(self) -> list[tuple[Path, str]]:
        return list(self._broken)

    def launch_refusal(self, template: AgentTemplate) -> str | None:
        """None if ``template`` may start now; else why not (files, signature, allowlist)."""
        if not isinstance(template, PackageTemplate):
            return None
        folder = Path(template.package_dir)
        try:
            package = read_installed(folder)
        except MimoloError as exc:
            return exc.message
        if package.raw.package_hash != template.package_hash:
            return "the installed manifest is not the one this template was read from"
        why = files_refusal(package, self.hashes)
        if why is not None:
            return why
        trust = trust_view(self.data_root, package.raw, developer=self.developer_mode)
        if not trust.trusted:
            return trust.reason or "the package is not trusted"
        if not trust.verified:
            log.warning("starting UNVERIFIED package %s %s", template.plugin_id, template.version)
        return None

    async def launch_check(self, template: AgentTemplate) -> str | None:
        """``launch_refusal`` off the event loop (hashing may read files)."""
        if not isinstance(template, PackageTemplate):
            return None
        return await asyncio.to_thread(self.launch_refusal, template)


def with_packages(first: TemplateResolver, catalog: PackageCatalog) -> TemplateResolver:
    """Resolve through ``first`` (built-ins, test templates), then the installed packages."""

    def resolve(name: str) -> AgentTemplate | None:
        found = first(name)
        return found if found is not None else catalog.resolve(name)

    return resolve


__all__ = [
    "MANIFEST",
    "SIGNATURE",
    "STAGING",
    "FileHashCache",
    "InstalledPackage",
    "PackageCatalog",
    "PackageTemplate",
    "current_versions",
    "entry_argv",
    "files_refusal",
    "interpreter_path",
    "read_installed",
    "scan_packages",
    "template_of",
    "with_packages",
]
