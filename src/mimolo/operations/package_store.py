"""Installing, reinstalling and removing packages under ``packages/`` (DESIGN §9).

An install works on a private copy of the zip in ``packages/.staging/<random>/``: the
entries are checked by name, type and size (``mimolo.safe_zip``) before the manifest is
read, the trust policy decides (release mode: trusted signature, allowlist entry, no
rollback; developer mode: accepted, UNVERIFIED), every file is extracted against its
manifest hash (nothing missing, nothing extra, caps on entries, total and ratio), and the
finished folder is renamed into ``packages/<plugin_id>/<version>/`` in one step. Nothing is
ever overwritten, and a failure anywhere leaves the tree as it was. One change at a time.
Blocking: the control socket runs these in a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import (
    ArchiveHashMismatch,
    ArchiveTooLarge,
    MimoloError,
    PackageConflict,
    PackageSourceRefused,
    UnsafeArchiveError,
)
from mimolo.operations.package_templates import STAGING, InstalledPackage, read_installed
from mimolo.operations.package_trust import TrustView, decide, trust_view, view_of
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.payload import check_payload, expected_entries
from mimolo.packages.signing import RawPackage, read_package
from mimolo.packages.versions import compare_versions, is_version
from mimolo.protocol.templates import AgentTemplate
from mimolo.safe_zip import ZipLimits, check_members, extract_checked, open_zip
from mimolo.slugs import check_slug

MAX_PACKAGE_BYTES: Final = 1 << 30
LIMITS: Final = ZipLimits(
    max_entries=10_010,
    max_entry_bytes=2 << 30,  # a bigger claim is a bomb by its ratio, checked first
    max_total_bytes=2 << 30,
    max_ratio=200.0,
    ratio_floor=1 << 20,
)
_CHUNK: Final = 1 << 20

Mode = Literal["install", "upgrade"]
Action = Literal["install", "upgrade", "reinstall"]


class InstallPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What an install of one package would do, given what is installed."""

    action: Action
    plugin_id: str
    version: str
    installed_versions: list[str]


class InstallResult(msgspec.Struct, frozen=True, kw_only=True):
    plugin_id: str
    version: str
    package_hash: str
    action: Action
    from_versions: list[str]
    trust: TrustView
    installed_path: str


def copy_source(source: Path, dest: Path, max_bytes: int = MAX_PACKAGE_BYTES) -> int:
    """Copy the caller's zip (a plain file, not a link, owned by this user, under the cap)
    to ``dest`` (0600), checking the file it actually opened; the bytes copied."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        raise PackageSourceRefused(
            f"{source}: cannot be opened as a plain file ({exc.strerror})", field="path"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PackageSourceRefused(f"{source}: not a plain file", field="path")
        if st.st_uid != os.getuid():
            raise PackageSourceRefused(f"{source}: owned by another user", field="path")
        if st.st_size > max_bytes:
            raise PackageSourceRefused(
                f"{source}: {st.st_size} bytes, over the {max_bytes}-byte cap", field="path"
            )
        copied = 0
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            while chunk := os.read(fd, _CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise PackageSourceRefused(f"{source}: grew past the cap", field="path")
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
        finally:
            os.close(out)
        return copied
    finally:
        os.close(fd)


def installed_versions(packages_dir: Path, plugin_id: str) -> list[str]:
    """The versions installed for ``plugin_id``, lowest first."""
    folder = packages_dir / check_slug(plugin_id, "plugin_id")
    if not folder.is_dir():
        return []
    versions = [p.name for p in folder.iterdir() if is_version(p.name) and p.is_dir()]
    return sorted(versions, key=functools.cmp_to_key(compare_versions))


def plan_install(
    raw: RawPackage,
    versions: list[str],
    *,
    mode: Mode,
    force: bool,
    builtin: bool,
    installed_hash: Callable[[str], str],
) -> InstallPlan:
    """Refuse what the installed tree forbids (pure but for ``installed_hash``)."""
    m = raw.manifest
    what = f"{m.plugin_id} {m.version}"
    if builtin:
        raise PackageConflict(
            f"{m.plugin_id!r} is a built-in agent; a package may not replace it",
            code="package_shadows_builtin",
        )
    plan = InstallPlan(
        action="install", plugin_id=m.plugin_id, version=m.version, installed_versions=versions
    )
    if mode == "upgrade":
        if not versions:
            raise PackageConflict(
                f"{m.plugin_id} is not installed; install it first", code="package_not_installed"
            )
        if compare_versions(m.version, versions[-1]) <= 0:
            raise PackageConflict(
                f"{what} is not newer than the installed {versions[-1]}",
                code="not_newer_than_installed",
            )
        return msgspec.structs.replace(plan, action="upgrade")
    if m.version in versions:
        if not force:
            raise PackageConflict(
                f"{what} is already installed (force reinstalls the identical package)",
                code="version_already_installed",
            )
        if installed_hash(m.version) != raw.package_hash:
            raise PackageConflict(
                f"another package with version {what} is installed; force reinstalls only "
                "the identical package (same package hash)",
                code="version_already_installed",
            )
        return msgspec.structs.replace(plan, action="reinstall")
    if versions:
        raise PackageConflict(
            f"{m.plugin_id} {versions[-1]} is installed; use upgrade for {m.version}",
            code="plugin_already_installed",
        )
    return plan


class PackageStore:
    """The writer of ``packages/``: one install, upgrade or removal at a time."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        builtins: Callable[[], Mapping[str, AgentTemplate]],
        developer_mode: Callable[[], bool],
        limits: ZipLimits = LIMITS,
        max_package_bytes: int = MAX_PACKAGE_BYTES,
    ) -> None:
        self.data_root = data_root
        self.builtins = builtins
        self.developer_mode = developer_mode
        self.limits = limits
        self.max_package_bytes = max_package_bytes
        self.lock = threading.Lock()
        self.clean_staging()

    @property
    def packages_dir(self) -> Path:
        return self.data_root.packages_dir

    @property
    def staging_dir(self) -> Path:
        return self.packages_dir / STAGING

    # ---- staging ------------------------------------------------------------------------

    def clean_staging(self) -> None:
        """Remove what an interrupted install left (nothing a package may run from)."""
        shutil.rmtree(self.staging_dir, ignore_errors=True)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        ensure_private_dir(self.staging_dir)
        work = self.staging_dir / secrets.token_hex(8)
        work.mkdir(mode=0o700)
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)
            with contextlib.suppress(OSError):
                self.staging_dir.rmdir()  # only when no other staging is in progress

    def _read(self, source: Path, work: Path) -> tuple[Path, RawPackage]:
        """The private copy, its entries checked before any is read, and its manifest."""
        copy = work / "package.zip"
        copy_source(source, copy, self.max_package_bytes)
        with open_zip(copy) as zf:
            check_members(zf, self.limits)
        return copy, read_package(copy)

    # ---- deciding -----------------------------------------------------------------------

    def plan(self, raw: RawPackage, *, mode: Mode, force: bool) -> InstallPlan:
        pid = raw.manifest.plugin_id
        return plan_install(
            raw,
            installed_versions(self.packages_dir, pid),
            mode=mode,
            force=force,
            builtin=pid in self.builtins(),
            installed_hash=lambda v: read_installed(self.packages_dir / pid / v).raw.package_hash,
        )

    def _check_declared_total(self, raw: RawPackage) -> None:
        total = sum(entry.bytes for entry in raw.manifest.files.values())
        if total > self.limits.max_total_bytes:
            raise ArchiveTooLarge(
                f"the manifest declares {total} bytes (at most {self.limits.max_total_bytes})"
            )

    # ---- installing ---------------------------------------------------------------------

    def _extract(self, copy: Path, raw: RawPackage, tree: Path) -> Path:
        """Every entry written under ``tree`` against its expected hash; the package folder."""
        expected = expected_entries(raw)
        limits = msgspec.structs.replace(self.limits, allowed=frozenset(expected))
        with open_zip(copy) as zf:
            members = check_members(zf, limits)
            written = extract_checked(zf, members, tree, expected, limits)
        missing = sorted(set(expected) - {f.name for f in written})
        if missing:
            raise ArchiveHashMismatch(f"{missing[0]} is in the manifest but not in the package")
        folder = tree / raw.manifest.plugin_id
        for rel, entry in raw.manifest.files.items():
            if entry.executable:
                os.chmod(folder / rel, 0o700)
        return folder

    def _place(self, folder: Path, plan: InstallPlan, work: Path) -> Path:
        """Rename the finished folder into place: never over another, all or nothing."""
        plugin_dir = ensure_private_dir(self.packages_dir / plan.plugin_id)
        target = plugin_dir / plan.version
        if plan.action != "reinstall":
            if target.exists():
                raise PackageConflict(
                    f"{target} exists", code="version_already_installed", field="version"
                )
            os.rename(folder, target)
            return target
        aside = work / "replaced"
        os.rename(target, aside)
        try:
            os.rename(folder, target)
        except OSError:
            os.rename(aside, target)
            raise
        return target

    def install(
        self, source: Path, *, mode: Mode = "install", force: bool = False
    ) -> InstallResult:
        """Install (or upgrade to) the package at ``source``; raises the refusal's error."""
        developer = self.developer_mode()
        with self.lock, self._staging() as work:
            copy, raw = self._read(source, work)
            plan = self.plan(raw, mode=mode, force=force)
            decision = decide(self.data_root, raw, developer=developer, for_launch=False)
            self._check_declared_total(raw)
            tree = ensure_private_dir(work / "tree")
            folder = self._extract(copy, raw, tree)
            created_plugin_dir = not (self.packages_dir / plan.plugin_id).exists()
            try:
                target = self._place(folder, plan, work)
                TrustStore(self.data_root).note_installed(plan.plugin_id, plan.version)
            except BaseException:
                if created_plugin_dir:
                    shutil.rmtree(self.packages_dir / plan.plugin_id, ignore_errors=True)
                raise
        return InstallResult(
            plugin_id=plan.plugin_id,
            version=plan.version,
            package_hash=raw.package_hash,
            action=plan.action,
            from_versions=[v for v in plan.installed_versions if v != plan.version],
            trust=view_of(decision),
            installed_path=str(target),
        )

    # ---- inspecting ---------------------------------------------------------------------

    def inspect(self, source: Path, *, force: bool = False) -> dict[str, Any]:
        """A package described without installing it: manifest, trust, payload, plan."""
        with self.lock, self._staging() as work:
            copy, raw = self._read(source, work)
            trust = trust_view(
                self.data_root, raw, developer=self.developer_mode(), for_launch=False
            )
            payload_error: dict[str, str] | None = None
            try:
                check_payload(copy, raw, msgspec.structs.replace(self.limits, allowed=None))
            except UnsafeArchiveError as exc:
                payload_error = {"code": exc.code, "message": exc.message}
            versions = installed_versions(self.packages_dir, raw.manifest.plugin_id)
            action: str | None = None
            refusal: dict[str, str] | None = None
            try:
                mode: Mode = (
                    "upgrade" if versions and raw.manifest.version not in versions else "install"
                )
                action = self.plan(raw, mode=mode, force=force).action
            except MimoloError as exc:
                refusal = {"code": exc.code, "message": exc.message}
            if refusal is None and not trust.trusted:
                refusal = {"code": trust.code or "trust_error", "message": trust.reason or ""}
                action = None
            if refusal is None and payload_error is not None:
                refusal, action = payload_error, None
        m = raw.manifest
        return {
            **describe(raw, trust),
            "files": [
                {"path": p, "bytes": e.bytes, "sha256": e.sha256, "executable": e.executable}
                for p, e in sorted(m.files.items())
            ],
            "payload_ok": payload_error is None,
            "payload_error": payload_error,
            "installed_versions": versions,
            "action": action,
            "refusal": refusal,
        }

    # ---- removing -----------------------------------------------------------------------

    def remove_version(self, plugin_id: str, version: str) -> None:
        """Take ``packages/<plugin_id>/<version>/`` away (renamed aside, then deleted)."""
        check_slug(plugin_id, "plugin_id")
        if not is_version(version):
            raise PackageConflict(f"{version!r} is not a version", code="package_not_installed")
        plugin_dir = self.packages_dir / plugin_id
        target = plugin_dir / version
        if not target.is_dir():
            raise PackageConflict(
                f"{plugin_id} {version} is not installed", code="package_not_installed"
            )
        with self.lock, self._staging() as work:
            os.rename(target, work / "removed")
            with contextlib.suppress(OSError):
                plugin_dir.rmdir()


def describe(raw: RawPackage, trust: TrustView) -> dict[str, Any]:
    """What every package answer says about one package (a Packages view's columns)."""
    m = raw.manifest
    return {
        "plugin_id": m.plugin_id,
        "version": m.version,
        "label": m.label,
        "description": m.description,
        "package_hash": raw.package_hash,
        "publisher": trust.signer,
        "claimed_signer": trust.claimed_signer,
        "trust": trust.state,
        "trust_code": trust.code,
        "trust_reason": trust.reason,
        "capabilities": list(m.capabilities),
        "activity_mode": m.activity_mode,
        "entry": list(m.entry),
        "params": msgspec.to_builtins(m.params),
        "bytes": sum(e.bytes for e in m.files.values()),
    }


def describe_installed(package: InstalledPackage, trust: TrustView) -> dict[str, Any]:
    return {
        **describe(package.raw, trust),
        "files": len(package.manifest.files),
        "installed_path": package.path,
        "signed": package.signature is not None,
    }


__all__ = [
    "LIMITS",
    "MAX_PACKAGE_BYTES",
    "InstallPlan",
    "InstallResult",
    "PackageStore",
    "copy_source",
    "describe",
    "describe_installed",
    "installed_versions",
    "plan_install",
]
