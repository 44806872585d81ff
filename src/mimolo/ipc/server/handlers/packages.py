"""Package commands: ``list_installed_packages``, ``inspect_package``, ``install_package``,
``upgrade_package``, ``remove_package`` (docs/ipc.md, DESIGN §9).

The zip is named by path and read by Operations under caps (``PackageStore``); the file
work runs in a worker thread so the socket stays responsive. Every decision, refusals
included, is an audit record. An upgrade restarts the plugin's running instances onto the
new version and removes the old one once they all run; a removal is refused while
configured instances use the plugin unless they are removed with it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

import msgspec

from mimolo.errors import InvalidField, MimoloError, NotRunning, PackageConflict
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.registry import Command, NoParams
from mimolo.operations.package_store import (
    InstallResult,
    PackageStore,
    describe_installed,
    installed_versions,
)
from mimolo.operations.package_templates import PackageCatalog, files_refusal
from mimolo.operations.package_trust import trust_view
from mimolo.slugs import check_slug

MAX_PATH: Final = 4096
RUNNING: Final = frozenset({"running", "starting", "stopping", "backoff"})


class PathParams(msgspec.Struct, forbid_unknown_fields=True):
    path: str
    force: bool = False


class UpgradeParams(msgspec.Struct, forbid_unknown_fields=True):
    path: str


class RemoveParams(msgspec.Struct, forbid_unknown_fields=True):
    plugin_id: str
    version: str | None = None
    remove_instances: bool = False


def _parts(ctx: IpcContext) -> tuple[PackageStore, PackageCatalog]:
    if ctx.package_store is None or ctx.packages is None:
        raise NotRunning("this Operations installs no packages")
    return ctx.package_store, ctx.packages


def _source(path: str) -> Path:
    """The zip's path: absolute, bounded, no NUL (what it is, the store checks)."""
    if not path or len(path) > MAX_PATH or "\x00" in path:
        raise InvalidField("path", f"must be a path of 1 to {MAX_PATH} characters, no NUL")
    if not path.startswith("/"):
        raise InvalidField("path", "must be absolute (Operations does not share your cwd)")
    return Path(path)


async def _states(ctx: IpcContext) -> dict[str, dict[str, Any]]:
    states = await resolve(ctx.supervisor.states())
    out: dict[str, dict[str, Any]] = {}
    for state in states:
        record = state if isinstance(state, dict) else msgspec.to_builtins(state)
        out[str(record.get("instance_id"))] = record
    return out


def _users(ctx: IpcContext, plugin_id: str) -> dict[str, str]:
    """Configured instances of ``plugin_id``: instance id -> label."""
    config = ctx.store.load()
    return {
        iid: inst.instance_label
        for iid, inst in config.instances.items()
        if inst.plugin_id == plugin_id
    }


async def _install(
    ctx: IpcContext, action: str, source: Path, *, upgrade: bool, force: bool = False
) -> InstallResult:
    """Install through the store (in a thread); the refusal is audited and re-raised."""
    store, catalog = _parts(ctx)
    try:
        result = await asyncio.to_thread(
            store.install, source, mode="upgrade" if upgrade else "install", force=force
        )
    except MimoloError as exc:
        ctx.audit(action, outcome="refused", error=exc.code, message=exc.message, path=str(source))
        raise
    except Exception as exc:
        ctx.audit(action, outcome="failed", error=type(exc).__name__, path=str(source))
        raise
    await asyncio.to_thread(catalog.refresh)
    return result


def _answer(result: InstallResult) -> dict[str, Any]:
    return {
        "plugin_id": result.plugin_id,
        "version": result.version,
        "package_hash": result.package_hash,
        "trust": result.trust.state,
        "trust_reason": result.trust.reason,
        "publisher": result.trust.signer,
        "installed_path": result.installed_path,
    }


def _audit_installed(ctx: IpcContext, action: str, result: InstallResult, **extra: Any) -> None:
    ctx.audit(
        action,
        outcome=extra.pop("outcome", "installed"),
        plugin_id=result.plugin_id,
        version=result.version,
        package_hash=result.package_hash,
        trust=result.trust.state,
        signer=result.trust.signer,
        **extra,
    )


def _listing(ctx: IpcContext, catalog: PackageCatalog) -> list[dict[str, Any]]:
    """Every installed version described, with its trust state and file check (blocking)."""
    catalog.refresh()
    current = {pid: t.version for pid, t in catalog.templates().items()}
    out = []
    for package in catalog.installed():
        trust = trust_view(ctx.data_root, package.raw, developer=catalog.developer_mode)
        tampered = files_refusal(package, catalog.hashes)
        view = describe_installed(package, trust)
        if tampered is not None:
            view.update(trust="refused", trust_code="package_tampered", trust_reason=tampered)
        view["current"] = current.get(package.plugin_id) == package.version
        out.append(view)
    return out


async def list_installed_packages(ctx: IpcContext, _params: NoParams) -> dict[str, Any]:
    """Installed packages with version, publisher, trust state and why, the instances."""
    catalog = _parts(ctx)[1]
    packages = await asyncio.to_thread(_listing, ctx, catalog)
    states = await _states(ctx)
    config = ctx.store.load()
    for view in packages:
        users = [
            (iid, inst)
            for iid, inst in config.instances.items()
            if inst.plugin_id == view["plugin_id"]
        ]
        view["instances"] = [
            {
                "instance_id": iid,
                "instance_label": inst.instance_label,
                "state": states.get(iid, {}).get("state"),
                "agent_version": states.get(iid, {}).get("agent_version"),
            }
            for iid, inst in users
            if view["current"]
        ]
    return {
        "developer_mode": catalog.developer_mode,
        "packages": packages,
        "broken": [{"path": str(p), "reason": why} for p, why in catalog.broken()],
    }


async def inspect_package(ctx: IpcContext, params: PathParams) -> dict[str, Any]:
    """A package's manifest, hash, signer, trust and payload check, without installing."""
    store = _parts(ctx)[0]
    return await asyncio.to_thread(store.inspect, _source(params.path), force=params.force)


async def install_package(ctx: IpcContext, params: PathParams) -> dict[str, Any]:
    """Install a package (``force``: reinstall the identical one); answers what was done."""
    result = await _install(
        ctx, "install_package", _source(params.path), upgrade=False, force=params.force
    )
    reinstalled = result.action == "reinstall"
    _audit_installed(
        ctx, "install_package", result, outcome="reinstalled" if reinstalled else "installed"
    )
    return {**_answer(result), "reinstalled": reinstalled}


async def upgrade_package(ctx: IpcContext, params: UpgradeParams) -> dict[str, Any]:
    """Install a higher version, restart the plugin's running instances onto it, then
    remove the old version once they all run on the new one."""
    store, catalog = _parts(ctx)
    async with ctx.config_lock:
        before = await _states(ctx)
        result = await _install(ctx, "upgrade_package", _source(params.path), upgrade=True)
        users = _users(ctx, result.plugin_id)
        applied = await ctx.apply(ctx.store.load())
        after = await _states(ctx)
        ran = [iid for iid in users if before.get(iid, {}).get("state") in RUNNING]
        not_up = [iid for iid in ran if after.get(iid, {}).get("state") != "running"]
        kept: str | None = None
        if not_up:
            kept = f"{', '.join(not_up)} did not come up on {result.version}"
        else:
            for version in result.from_versions:
                await asyncio.to_thread(store.remove_version, result.plugin_id, version)
            await asyncio.to_thread(catalog.refresh)
        _audit_installed(
            ctx,
            "upgrade_package",
            result,
            outcome="upgraded",
            from_versions=result.from_versions,
            restarted=sorted(i for i, what in applied.items() if what == "restarted"),
            old_version_kept=kept,
        )
    return {
        **_answer(result),
        "from_version": result.from_versions[-1] if result.from_versions else None,
        "restarted": sorted(i for i in users if applied.get(i) == "restarted"),
        "states": {iid: after.get(iid, {}).get("state") for iid in users},
        "old_version_removed": kept is None,
        "old_version_kept": kept,
    }


async def _remove_instances(ctx: IpcContext, instance_ids: list[str]) -> None:
    """Stop each instance gracefully and take it out of the config (audited)."""
    for iid in instance_ids:
        try:
            await resolve(ctx.supervisor.stop_agent(iid))
        except MimoloError as exc:
            if exc.code not in ("agent_not_running", "unknown_instance"):
                raise
        ctx.store.remove_instance(iid)
        ctx.audit("remove_agent_instance", instance_id=iid, reason="remove_package")
    await ctx.apply(ctx.store.load())


async def remove_package(ctx: IpcContext, params: RemoveParams) -> dict[str, Any]:
    """Remove a package (or one version); refused while instances use it unless asked
    to remove them too."""
    store, catalog = _parts(ctx)
    plugin_id = check_slug(params.plugin_id, "plugin_id")
    async with ctx.config_lock:
        try:
            versions = installed_versions(store.packages_dir, plugin_id)
            if not versions or (params.version is not None and params.version not in versions):
                what = plugin_id if params.version is None else f"{plugin_id} {params.version}"
                raise PackageConflict(f"{what} is not installed", code="package_not_installed")
            targets = versions if params.version is None else [params.version]
            users = _users(ctx, plugin_id)
            removing_current = versions[-1] in targets
            if removing_current and users and not params.remove_instances:
                raise PackageConflict(
                    f"instances use {plugin_id}: {', '.join(sorted(users))} (remove them, or "
                    "pass remove_instances)",
                    code="package_in_use",
                )
            removed_instances = sorted(users) if removing_current else []
            if removed_instances:
                await _remove_instances(ctx, removed_instances)
            for version in targets:
                await asyncio.to_thread(store.remove_version, plugin_id, version)
        except MimoloError as exc:
            ctx.audit(
                "remove_package",
                outcome="refused",
                plugin_id=plugin_id,
                version=params.version,
                error=exc.code,
                message=exc.message,
            )
            raise
        await asyncio.to_thread(catalog.refresh)
        ctx.audit(
            "remove_package",
            outcome="removed",
            plugin_id=plugin_id,
            versions=targets,
            removed_instances=removed_instances,
        )
    return {
        "plugin_id": plugin_id,
        "removed_versions": targets,
        "removed_instances": removed_instances,
    }


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("list_installed_packages", NoParams, list_installed_packages),
    Command("inspect_package", PathParams, inspect_package),
    Command("install_package", PathParams, install_package, mutating=True),
    Command("upgrade_package", UpgradeParams, upgrade_package, mutating=True),
    Command("remove_package", RemoveParams, remove_package, mutating=True),
]


__all__ = [
    "COMMANDS",
    "PathParams",
    "RemoveParams",
    "UpgradeParams",
    "inspect_package",
    "install_package",
    "list_installed_packages",
    "remove_package",
    "upgrade_package",
]
