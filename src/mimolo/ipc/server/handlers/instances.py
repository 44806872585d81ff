"""Instance commands (provisioning): templates, the configured instances, and adding,
duplicating, removing and updating one.

Everything a client sends is validated here before it reaches the config file: the
template must exist, only its declared parameters may be set (coerced to their declared
type, so CLI strings become numbers), labels are printable, ids are slugs. Mutating
commands persist through ``ConfigStore`` (comments kept), apply through
``Supervisor.apply_config`` and write an audit record; they answer with what actually
happened (the real instance id, the stored config, the supervisor's per-instance result),
never a prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import msgspec
from msgspec import UNSET, UnsetType

from mimolo.errors import ConfigError, MimoloError
from mimolo.ipc.server.bounds import PageParams, paged
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.handlers.agents import InstanceParams
from mimolo.ipc.server.registry import Command, NoParams
from mimolo.protocol.config_schema import InstanceConfig
from mimolo.protocol.params import validate_params
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import check_label, check_slug, slugify

POSITIVE_FIELDS: Final = ("flush_interval_s", "heartbeat_interval_s", "cpu_budget_percent")
# Changes an agent only sees when it starts (env and config are read at launch).
RESTART_FIELDS: Final = frozenset(
    {"instance_label", "params", "client_id", "heartbeat_interval_s", "cpu_budget_percent"}
)
_UPDATABLE: Final = (
    "instance_label",
    "enabled",
    "client_id",
    "flush_interval_s",
    "heartbeat_interval_s",
    "cpu_budget_percent",
)


class AddInstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    plugin_id: str
    instance_label: str
    params: dict[str, Any] = {}
    enabled: bool = True
    client_id: str | None = None
    flush_interval_s: float | None = None
    heartbeat_interval_s: float | None = None
    cpu_budget_percent: float | None = None
    instance_id: str | None = None


class DuplicateInstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    instance_label: str | None = None
    new_instance_id: str | None = None


class UpdateInstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    instance_label: str | UnsetType = UNSET
    params: dict[str, Any] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    client_id: str | UnsetType | None = UNSET
    flush_interval_s: float | UnsetType | None = UNSET
    heartbeat_interval_s: float | UnsetType | None = UNSET
    cpu_budget_percent: float | UnsetType | None = UNSET
    restart: bool = True


def template_for(templates: Mapping[str, AgentTemplate], plugin_id: str) -> AgentTemplate:
    """The named template or ``unknown_template``."""
    template = templates.get(plugin_id)
    if template is None:
        known = ", ".join(sorted(templates)) or "none"
        raise ConfigError(
            f"unknown template {plugin_id!r} (known: {known})",
            field="plugin_id",
            code="unknown_template",
        )
    return template


def checked_params(template: AgentTemplate, given: Mapping[str, Any]) -> dict[str, Any]:
    """The given parameters, validated and coerced; defaults are not written out."""
    canonical = validate_params(template.params, given, prefix="params")
    return {name: canonical[name] for name in given}


def check_instance(instance: InstanceConfig, template: AgentTemplate) -> InstanceConfig:
    """Validate every field of an instance against its template; params canonicalised."""
    check_label(instance.instance_label, "instance_label")
    if instance.client_id is not None:
        check_slug(instance.client_id, "client_id")
    for name in POSITIVE_FIELDS:
        value = getattr(instance, name)
        if value is not None and not value > 0:
            raise ConfigError("must be greater than 0", field=name)
    return msgspec.structs.replace(instance, params=checked_params(template, instance.params))


def new_instance_id(
    label: str,
    taken: Collection[str],
    *,
    fallback: str = "instance",
    exists: Callable[[str], bool] = lambda _id: False,
) -> str:
    """A fresh slug from ``label``: ``my-label``, ``my-label-2`` … never one in ``taken``."""
    base = slugify(label, fallback)[:56].strip("-_") or fallback
    candidate, n = base, 1
    while candidate in taken or exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return check_slug(candidate, "instance_id")


def copy_label(label: str, taken_labels: Collection[str]) -> str:
    """``Label (copy)``, ``Label (copy 2)`` … for duplicates without a new label."""
    base = f"{label} (copy)"
    candidate, n = base, 1
    while candidate in taken_labels:
        n += 1
        candidate = f"{label} (copy {n})"
    return candidate


def instance_view(instance_id: str, instance: InstanceConfig) -> dict[str, Any]:
    """The config view of one instance, as answered over IPC."""
    return {"instance_id": instance_id, **msgspec.to_builtins(instance)}


def template_view(template: AgentTemplate) -> dict[str, Any]:
    """A template as answered: everything but what it runs (not the client's business)."""
    view: dict[str, Any] = msgspec.to_builtins(template)
    for what_runs in ("module", "package_dir", "entry"):
        view.pop(what_runs, None)
    return view


async def list_agent_templates(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Every template with its parameter declarations (a UI builds its form from them)."""
    templates = ctx.templates()
    return {"templates": [template_view(templates[k]) for k in sorted(templates)]}


async def get_agent_instances(ctx: IpcContext, params: PageParams) -> dict[str, Any]:
    """The configured instances (the config view, not the runtime state), paged."""
    config = ctx.store.load()
    templates = ctx.templates()
    views = [
        {**instance_view(k, v), "verified": _verified(templates.get(v.plugin_id))}
        for k, v in config.instances.items()
    ]
    return paged("instances", views, params)


def _verified(template: AgentTemplate | None) -> bool:
    """False for an UNVERIFIED package (developer mode); built-ins are verified."""
    return template is None or template.verified


async def _provision(
    ctx: IpcContext,
    requested_id: str | None,
    instance: InstanceConfig,
    action: str,
    **audit: Any,
) -> dict[str, Any]:
    """Store a checked new instance under a fresh (or the requested) id and apply it.
    The caller holds ``ctx.config_lock``."""
    current = ctx.store.load()
    if requested_id is not None:
        instance_id = check_slug(requested_id, "instance_id")
        if instance_id in current.instances:
            raise ConfigError("is already in use", field="instance_id", code="invalid_id")
    else:
        instance_id = new_instance_id(
            instance.instance_label,
            current.instances,
            fallback=instance.plugin_id.replace("_", "-"),
            exists=lambda i: ctx.data_root.instance_dir(instance.plugin_id, i).exists(),
        )
    config = ctx.store.add_instance(instance_id, instance)
    applied = await ctx.apply(config)
    ctx.audit(action, instance_id=instance_id, plugin_id=instance.plugin_id, **audit)
    return {
        "instance_id": instance_id,
        "config": instance_view(instance_id, config.instances[instance_id]),
        "applied": applied.get(instance_id, "added"),
        "state": await ctx.state_view(instance_id),
    }


async def add_agent_instance(ctx: IpcContext, params: AddInstanceParams) -> dict[str, Any]:
    """Provision a new instance from a template; answers its real id and config."""
    template = template_for(ctx.templates(), params.plugin_id)
    instance = check_instance(
        InstanceConfig(
            plugin_id=params.plugin_id,
            instance_label=params.instance_label,
            enabled=params.enabled,
            flush_interval_s=params.flush_interval_s,
            heartbeat_interval_s=params.heartbeat_interval_s,
            cpu_budget_percent=params.cpu_budget_percent,
            client_id=params.client_id,
            params=params.params,
        ),
        template,
    )
    async with ctx.config_lock:
        return await _provision(ctx, params.instance_id, instance, "add_agent_instance")


async def duplicate_agent_instance(
    ctx: IpcContext, params: DuplicateInstanceParams
) -> dict[str, Any]:
    """Copy an instance (template, params, settings) under a new label and id."""
    async with ctx.config_lock:
        config, source = ctx.configured(params.instance_id)
        label = params.instance_label
        if label is None:
            label = copy_label(
                source.instance_label, {i.instance_label for i in config.instances.values()}
            )
        template = template_for(ctx.templates(), source.plugin_id)
        stored = ctx.store.stored_params(params.instance_id)
        instance = check_instance(
            msgspec.structs.replace(source, instance_label=label, params=stored), template
        )
        return await _provision(
            ctx,
            params.new_instance_id,
            instance,
            "duplicate_agent_instance",
            source_instance_id=params.instance_id,
        )


async def remove_agent_instance(ctx: IpcContext, params: InstanceParams) -> dict[str, Any]:
    """Stop the instance gracefully, then remove it from the config."""
    async with ctx.config_lock:
        _, instance = ctx.configured(params.instance_id)
        try:
            await resolve(ctx.supervisor.stop_agent(params.instance_id))
        except MimoloError as exc:
            if exc.code != "agent_not_running":
                raise
        config = ctx.store.remove_instance(params.instance_id)
        applied = await ctx.apply(config)
        ctx.audit(
            "remove_agent_instance", instance_id=params.instance_id, plugin_id=instance.plugin_id
        )
        return {
            "instance_id": params.instance_id,
            "removed": True,
            "applied": applied.get(params.instance_id, "removed"),
        }


def _changes(ctx: IpcContext, params: UpdateInstanceParams) -> dict[str, Any]:
    """The fields an update gives, ``params`` merged into the stored ones (None: default)."""
    changes: dict[str, Any] = {}
    for name in _UPDATABLE:
        value = getattr(params, name)
        if value is not UNSET:
            changes[name] = value
    if not isinstance(params.params, UnsetType):
        merged = ctx.store.stored_params(params.instance_id)
        for key, value in params.params.items():
            if value is None:
                merged.pop(key, None)  # back to the declared default
            else:
                merged[key] = value
        changes["params"] = merged
    return changes


async def update_agent_instance(ctx: IpcContext, params: UpdateInstanceParams) -> dict[str, Any]:
    """Change label/params/enabled/intervals; answers the stored config and the result."""
    async with ctx.config_lock:
        _, current = ctx.configured(params.instance_id)
        changes = _changes(ctx, params)
        template = template_for(ctx.templates(), current.plugin_id)
        stored = msgspec.structs.replace(
            current, params=ctx.store.stored_params(params.instance_id)
        )
        updated = check_instance(msgspec.structs.replace(stored, **changes), template)
        effective = validate_params(template.params, updated.params)
        changed = sorted(
            name
            for name in changes
            if (effective if name == "params" else getattr(updated, name)) != getattr(current, name)
        )
        restart_required = bool(RESTART_FIELDS.intersection(changed))
        config = ctx.store.replace_instance(params.instance_id, updated)
        applied = await ctx.apply(config, restart=params.restart)
        result = applied.get(params.instance_id, "unchanged")
        if changed:
            ctx.audit("update_agent_instance", instance_id=params.instance_id, changed=changed)
        return {
            "instance_id": params.instance_id,
            "config": instance_view(params.instance_id, config.instances[params.instance_id]),
            "changed": changed,
            "applied": result,
            "restart_required": restart_required and result != "restarted",
            "restarted": result == "restarted",
            "state": await ctx.state_view(params.instance_id),
        }


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("list_agent_templates", NoParams, list_agent_templates),
    Command("get_agent_instances", PageParams, get_agent_instances),
    Command("add_agent_instance", AddInstanceParams, add_agent_instance, mutating=True),
    Command(
        "duplicate_agent_instance",
        DuplicateInstanceParams,
        duplicate_agent_instance,
        mutating=True,
    ),
    Command("remove_agent_instance", InstanceParams, remove_agent_instance, mutating=True),
    Command("update_agent_instance", UpdateInstanceParams, update_agent_instance, mutating=True),
]


__all__ = [
    "COMMANDS",
    "POSITIVE_FIELDS",
    "RESTART_FIELDS",
    "AddInstanceParams",
    "DuplicateInstanceParams",
    "UpdateInstanceParams",
    "add_agent_instance",
    "check_instance",
    "checked_params",
    "copy_label",
    "duplicate_agent_instance",
    "get_agent_instances",
    "instance_view",
    "list_agent_templates",
    "new_instance_id",
    "remove_agent_instance",
    "template_for",
    "template_view",
    "update_agent_instance",
]
