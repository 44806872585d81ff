"""Artifact commands (DESIGN §7, §10): ``get_artifact_inventory``, ``list_instance_archives``,
``archive_instance_artifacts``, ``restore_instance_archive``, ``plan_instance_purge`` and
``execute_instance_purge``.

Each names a configured instance (or a live plan); the work runs in a worker thread under
the instance's lock (``ArtifactService``), so a multi-GB archive never blocks the socket.
Archive, restore, plan and purge leave ``kind: "audit"`` records.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, Literal

import msgspec

from mimolo.errors import InvalidField, MimoloError, PurgeRefused
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.registry import Command
from mimolo.operations.artifacts.inventory import WarnLimits
from mimolo.operations.artifacts.purge import ArchiveDecision, PurgePlan, plan_sample
from mimolo.operations.artifacts.service import ArtifactService, parse_window

MAX_LISTED_ARCHIVES: Final = 1000


class InstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str


class RangeParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    start: str | None = None
    end: str | None = None


class RestoreParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    archive_id: str
    on_conflict: Literal["report", "keep_existing", "overwrite"] = "report"


class ExecuteParams(msgspec.Struct, forbid_unknown_fields=True):
    plan_id: str
    confirm: bool = False
    archive_decision: ArchiveDecision | None = None


def service(ctx: IpcContext) -> ArtifactService:
    """The context's artifact service (made on first use)."""
    if ctx.artifacts is None:
        ttl = ctx.store.load().settings.purge_plan_ttl_s
        ctx.artifacts = ArtifactService(ctx.data_root, plan_ttl_s=ttl)
    return ctx.artifacts


def _plugin_of(ctx: IpcContext, instance_id: str) -> str:
    _, instance = ctx.configured(instance_id)
    return instance.plugin_id


async def get_artifact_inventory(ctx: IpcContext, params: InstanceParams) -> dict[str, Any]:
    """Bytes, files, oldest/newest per retention class, and the warnings past thresholds."""
    config, instance = ctx.configured(params.instance_id)
    s = config.settings
    limits = WarnLimits(
        bytes=s.artifact_warn_bytes, files=s.artifact_warn_files, age_days=s.artifact_warn_age_days
    )
    svc = service(ctx)
    inventory = await asyncio.to_thread(
        svc.inventory, instance.plugin_id, params.instance_id, limits
    )
    return msgspec.to_builtins(inventory)  # type: ignore[no-any-return]


async def list_instance_archives(ctx: IpcContext, params: InstanceParams) -> dict[str, Any]:
    """The instance's archives, oldest first (the newest ``MAX_LISTED_ARCHIVES``)."""
    plugin_id = _plugin_of(ctx, params.instance_id)
    items = await asyncio.to_thread(service(ctx).archives, plugin_id, params.instance_id)
    return {"archives": msgspec.to_builtins(items[-MAX_LISTED_ARCHIVES:])}


async def archive_instance_artifacts(ctx: IpcContext, params: RangeParams) -> dict[str, Any]:
    """Archive the artifacts whose mtime is in ``[start, end)`` (absent: everything)."""
    plugin_id = _plugin_of(ctx, params.instance_id)
    window = parse_window(params.start, params.end)
    svc = service(ctx)
    async with svc.lock(params.instance_id):
        result = await asyncio.to_thread(svc.archive, plugin_id, params.instance_id, window)
    ctx.audit(
        "archive_instance_artifacts",
        instance_id=params.instance_id,
        archive_id=result.item.archive_id,
        files=result.item.entries,
        bytes=result.item.bytes,
        start=params.start,
        end=params.end,
    )
    return {
        "archive": msgspec.to_builtins(result.item),
        "verified": result.verified,
        "skipped": [{"rel_path": rel, "reason": why} for rel, why in result.skipped],
    }


async def restore_instance_archive(ctx: IpcContext, params: RestoreParams) -> dict[str, Any]:
    """Put an archive back (verified); conflicts are reported, never overwritten silently."""
    plugin_id = _plugin_of(ctx, params.instance_id)
    svc = service(ctx)
    async with svc.lock(params.instance_id):
        result = await asyncio.to_thread(
            svc.restore, plugin_id, params.instance_id, params.archive_id, params.on_conflict
        )
    ctx.audit(
        "restore_instance_archive",
        instance_id=params.instance_id,
        archive_id=params.archive_id,
        on_conflict=params.on_conflict,
        restored=result.restored,
        identical=result.identical,
        conflicts=len(result.conflicts),
        written=result.written,
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def _plan_view(plan: PurgePlan, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "instance_id": plan.instance_id,
        "expires_at": plan.expires_at.isoformat().replace("+00:00", "Z"),
        "files": len(plan.files),
        "bytes": plan.bytes,
        "start": plan.start,
        "end": plan.end,
        "sample": plan_sample(plan),
        "archive_options": options,
    }


async def plan_instance_purge(ctx: IpcContext, params: RangeParams) -> dict[str, Any]:
    """Step one: what would be deleted, the archive options, and the plan's expiry."""
    plugin_id = _plugin_of(ctx, params.instance_id)
    window = parse_window(params.start, params.end)
    svc = service(ctx)
    async with svc.lock(params.instance_id):
        plan, options = await asyncio.to_thread(svc.plan, plugin_id, params.instance_id, window)
    ctx.audit(
        "plan_instance_purge",
        instance_id=params.instance_id,
        plan_id=plan.plan_id,
        files=len(plan.files),
        bytes=plan.bytes,
        start=plan.start,
        end=plan.end,
    )
    return _plan_view(plan, options)


def _check_decision(params: ExecuteParams) -> ArchiveDecision:
    if params.confirm is not True:
        raise PurgeRefused(
            "a purge deletes files: send confirm: true to go ahead", code="purge_not_confirmed"
        )
    decision = params.archive_decision
    if decision is None:
        raise PurgeRefused(
            "choose an archive decision: create_archive, use_existing_archive or decline_archive",
            code="archive_decision_required",
        )
    if decision.action == "use_existing_archive" and not decision.archive_id:
        raise InvalidField("archive_decision.archive_id", "use_existing_archive names an archive")
    return decision


async def execute_instance_purge(ctx: IpcContext, params: ExecuteParams) -> dict[str, Any]:
    """Step two: delete the plan's files under the archive decision; tombstones + audit."""
    svc = service(ctx)
    plan = svc.plans.take(params.plan_id)
    try:
        decision = _check_decision(params)
        ctx.configured(plan.instance_id)
        async with svc.lock(plan.instance_id):
            result = await asyncio.to_thread(svc.execute, plan, decision)
    except MimoloError:
        svc.plans.put_back(plan)  # refused before anything was deleted: still usable
        raise
    ctx.audit(
        "execute_instance_purge",
        instance_id=plan.instance_id,
        plan_id=plan.plan_id,
        decision=decision.action,
        archive_id=result.archive_id,
        deleted_files=result.deleted_files,
        deleted_bytes=result.deleted_bytes,
        skipped=len(result.skipped),
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("get_artifact_inventory", InstanceParams, get_artifact_inventory),
    Command("list_instance_archives", InstanceParams, list_instance_archives),
    Command("archive_instance_artifacts", RangeParams, archive_instance_artifacts, mutating=True),
    Command("restore_instance_archive", RestoreParams, restore_instance_archive, mutating=True),
    Command("plan_instance_purge", RangeParams, plan_instance_purge, mutating=True),
    Command("execute_instance_purge", ExecuteParams, execute_instance_purge, mutating=True),
]


__all__ = [
    "COMMANDS",
    "ExecuteParams",
    "InstanceParams",
    "RangeParams",
    "RestoreParams",
    "service",
]
