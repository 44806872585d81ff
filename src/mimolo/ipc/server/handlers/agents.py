"""Agent commands: templates, instances (add/duplicate/remove/update) and lifecycle.

Mutating commands validate against the template, persist through ``ConfigStore`` (comments
kept), apply through ``Supervisor.apply_config`` and write an audit record; they answer
with what actually happened (the real instance id, the stored config, the supervisor's
per-instance result), never a prediction.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mimolo.errors import ConfigError, MimoloError
from mimolo.ipc.server.bounds import PageParams, bound_item, paged, to_record
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.handlers.instances import (
    check_instance,
    copy_label,
    instance_view,
    new_instance_id,
    template_for,
)
from mimolo.ipc.server.socket_server import CommandRegistry
from mimolo.protocol.config_schema import AgentConfig, InstanceConfig
from mimolo.protocol.params import validate_params
from mimolo.slugs import check_slug

log = logging.getLogger(__name__)

# Changes an agent only sees when it starts (env and config are read at launch).
RESTART_FIELDS = frozenset(
    {"instance_label", "params", "client_id", "heartbeat_interval_s", "cpu_budget_percent"}
)


class InstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str


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


def _unknown(instance_id: str) -> MimoloError:
    return MimoloError(f"no instance {instance_id!r} is configured", code="unknown_instance")


def _template_view(template: Any) -> dict[str, Any]:
    view: dict[str, Any] = msgspec.to_builtins(template)
    view.pop("module", None)  # what runs is not the client's business, nor settable
    return view


def register(registry: CommandRegistry, ctx: IpcContext) -> None:
    """Add the agent commands to ``registry``."""

    def configured(instance_id: str) -> tuple[AgentConfig, InstanceConfig]:
        check_slug(instance_id, "instance_id")
        config = ctx.store.load()
        instance = config.instances.get(instance_id)
        if instance is None:
            raise _unknown(instance_id)
        return config, instance

    async def state_of(instance_id: str) -> Any:
        try:
            state = await resolve(ctx.supervisor.state(instance_id))
        except MimoloError:
            return None
        return None if state is None else bound_item(to_record(state))

    async def apply(config: AgentConfig, *, restart: bool = True) -> dict[str, str]:
        result = await resolve(ctx.supervisor.apply_config(config, restart=restart))
        return dict(result or {})

    async def list_agent_templates(_: object) -> dict[str, Any]:
        """Every template with its parameter declarations (a UI builds its form from them)."""
        templates = ctx.templates()
        return {"templates": [_template_view(templates[k]) for k in sorted(templates)]}

    async def get_agent_instances(params: PageParams) -> dict[str, Any]:
        """The configured instances (the config view, not the runtime state), paged."""
        config = ctx.store.load()
        views = [instance_view(k, v) for k, v in config.instances.items()]
        return paged("instances", views, params)

    async def get_agent_states(params: PageParams) -> dict[str, Any]:
        """Runtime state of every instance (health, pid, metrics, restarts, drops), paged."""
        return paged("agents", await resolve(ctx.supervisor.states()), params)

    def lifecycle(method: str) -> Any:
        async def handler(params: InstanceParams) -> dict[str, Any]:
            configured(params.instance_id)
            result = await resolve(getattr(ctx.supervisor, method)(params.instance_id))
            return {
                "instance_id": params.instance_id,
                "result": result if isinstance(result, (str, dict)) else None,
                "state": await state_of(params.instance_id),
            }

        handler.__doc__ = f"{method} for one instance; answers its state afterwards."
        return handler

    async def start_monitors(_: object) -> dict[str, Any]:
        """Start every enabled instance."""
        await resolve(ctx.supervisor.start_all())
        return paged("agents", await resolve(ctx.supervisor.states()), PageParams())

    async def stop_monitors(_: object) -> dict[str, Any]:
        """Stop every instance gracefully (final summaries are kept as evidence)."""
        await resolve(ctx.supervisor.stop_all())
        return paged("agents", await resolve(ctx.supervisor.states()), PageParams())

    async def add_agent_instance(params: AddInstanceParams) -> dict[str, Any]:
        """Provision a new instance from a template; answers its real id and config."""
        templates = ctx.templates()
        template = template_for(templates, params.plugin_id)
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
            return await _provision(params.instance_id, instance, "add_agent_instance")

    async def _provision(
        requested_id: str | None, instance: InstanceConfig, action: str, **audit: Any
    ) -> dict[str, Any]:
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
        applied = await apply(config)
        ctx.audit(action, instance_id=instance_id, plugin_id=instance.plugin_id, **audit)
        return {
            "instance_id": instance_id,
            "config": instance_view(instance_id, config.instances[instance_id]),
            "applied": applied.get(instance_id, "added"),
            "state": await state_of(instance_id),
        }

    async def duplicate_agent_instance(params: DuplicateInstanceParams) -> dict[str, Any]:
        """Copy an instance (template, params, settings) under a new label and id."""
        async with ctx.config_lock:
            config, source = configured(params.instance_id)
            labels = {i.instance_label for i in config.instances.values()}
            label = params.instance_label
            if label is None:
                label = copy_label(source.instance_label, labels)
            template = template_for(ctx.templates(), source.plugin_id)
            stored = ctx.store.stored_params(params.instance_id)
            instance = check_instance(
                msgspec.structs.replace(source, instance_label=label, params=stored), template
            )
            return await _provision(
                params.new_instance_id,
                instance,
                "duplicate_agent_instance",
                source_instance_id=params.instance_id,
            )

    async def remove_agent_instance(params: InstanceParams) -> dict[str, Any]:
        """Stop the instance gracefully, then remove it from the config."""
        async with ctx.config_lock:
            _, instance = configured(params.instance_id)
            try:
                await resolve(ctx.supervisor.stop_agent(params.instance_id))
            except MimoloError as exc:
                if exc.code != "agent_not_running":
                    raise
            config = ctx.store.remove_instance(params.instance_id)
            applied = await apply(config)
            ctx.audit(
                "remove_agent_instance",
                instance_id=params.instance_id,
                plugin_id=instance.plugin_id,
            )
            return {
                "instance_id": params.instance_id,
                "removed": True,
                "applied": applied.get(params.instance_id, "removed"),
            }

    async def update_agent_instance(params: UpdateInstanceParams) -> dict[str, Any]:
        """Change label/params/enabled/intervals; answers the stored config and the result."""
        async with ctx.config_lock:
            _, current = configured(params.instance_id)
            changes: dict[str, Any] = {}
            for name in (
                "instance_label",
                "enabled",
                "client_id",
                "flush_interval_s",
                "heartbeat_interval_s",
                "cpu_budget_percent",
            ):
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
            template = template_for(ctx.templates(), current.plugin_id)
            stored = msgspec.structs.replace(
                current, params=ctx.store.stored_params(params.instance_id)
            )
            updated = check_instance(msgspec.structs.replace(stored, **changes), template)
            effective = validate_params(template.params, updated.params)
            changed = sorted(
                name
                for name in changes
                if (effective if name == "params" else getattr(updated, name))
                != getattr(current, name)
            )
            restart_required = bool(RESTART_FIELDS.intersection(changed))
            config = ctx.store.replace_instance(params.instance_id, updated)
            applied = await apply(config, restart=params.restart)
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
                "state": await state_of(params.instance_id),
            }

    registry.add("list_agent_templates", list_agent_templates)
    registry.add("get_agent_instances", get_agent_instances, PageParams)
    registry.add("get_agent_states", get_agent_states, PageParams)
    for name, method in (
        ("start_agent", "start_agent"),
        ("stop_agent", "stop_agent"),
        ("restart_agent", "restart_agent"),
        ("flush_agent", "flush_agent"),
    ):
        registry.add(name, lifecycle(method), InstanceParams, mutating=True)
    registry.add("start_monitors", start_monitors, mutating=True)
    registry.add("stop_monitors", stop_monitors, mutating=True)
    registry.add("add_agent_instance", add_agent_instance, AddInstanceParams, mutating=True)
    registry.add(
        "duplicate_agent_instance", duplicate_agent_instance, DuplicateInstanceParams, mutating=True
    )
    registry.add("remove_agent_instance", remove_agent_instance, InstanceParams, mutating=True)
    registry.add(
        "update_agent_instance", update_agent_instance, UpdateInstanceParams, mutating=True
    )


__all__ = [
    "RESTART_FIELDS",
    "AddInstanceParams",
    "DuplicateInstanceParams",
    "InstanceParams",
    "UpdateInstanceParams",
    "register",
]
