"""Instance actions and forms: start/stop/restart/flush, duplicate, remove, add, configure.

Every change goes through Operations (Control never writes config itself). Parameters are
checked against the template's declarations first so that errors come back at once, next
to the field; Operations validates again and its errors are mapped to fields the same way
(``ConfigError`` and ``IpcError`` reach ``control.errors_http``, which answers them).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control import ops_data
from mimolo.control.context import control_state, render
from mimolo.control.forms import param_fields, params_from_form, read_form
from mimolo.control.responses import json_error, json_ok
from mimolo.errors import ConfigError, IpcError
from mimolo.slugs import check_label, is_slug

log = logging.getLogger(__name__)

ACTIONS = {"start": "start_agent", "stop": "stop_agent", "restart": "restart_agent",
           "flush": "flush_agent"}  # fmt: skip
DONE = {"start": "Started", "stop": "Stopped", "restart": "Restarted", "flush": "Flushed"}


def _instance_id(request: Request) -> str | None:
    instance_id = request.path_params["instance_id"]
    return instance_id if is_slug(instance_id) else None


async def action(request: Request) -> Response:
    """``POST /api/instances/{id}/{action}`` for the lifecycle actions."""
    instance_id = _instance_id(request)
    name = request.path_params["action"]
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    if name not in ACTIONS:
        return json_error("unknown_action", f"unknown action {name!r}", status=404)
    data = await control_state(request).ops.request(ACTIONS[name], instance_id=instance_id)
    return json_ok(message=f"{DONE[name]} {instance_id}.", data=data)


async def duplicate(request: Request) -> Response:
    """``POST /api/instances/{id}/duplicate``: a copy under a new id."""
    instance_id = _instance_id(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    form = await read_form(request)
    fields: dict[str, Any] = {"instance_id": instance_id}
    if form.get("instance_label", "").strip():
        fields["instance_label"] = check_label(form["instance_label"].strip())
    data = await control_state(request).ops.request("duplicate_agent_instance", **fields)
    new_id = data.get("instance_id", "")
    return json_ok(message=f"Duplicated {instance_id} as {new_id}.", data=data)


async def remove(request: Request) -> Response:
    """``POST /api/instances/{id}/remove``: stop it and drop it from the config."""
    instance_id = _instance_id(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    data = await control_state(request).ops.request(
        "remove_agent_instance", instance_id=instance_id
    )
    return json_ok(message=f"Removed {instance_id}. Its evidence is kept.", data=data)


async def _template(request: Request, plugin_id: str) -> ops_data.TemplateInfo | None:
    listed = ops_data.templates(await control_state(request).ops.request("list_agent_templates"))
    return next((t for t in listed if t.plugin_id == plugin_id), None)


def _common(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"instance_label": check_label(form.get("instance_label", "").strip())}
    client_id = form.get("client_id", "").strip()
    if client_id and not is_slug(client_id):
        raise ConfigError(
            "must be a slug (lowercase letters, digits, '-' or '_')", field="client_id"
        )
    fields["client_id"] = client_id or None
    return fields


async def new_form(request: Request) -> Response:
    """``GET /instances/new?plugin_id=…``: the add-instance form."""
    plugin_id = request.query_params.get("plugin_id", "")
    template = None
    if control_state(request).ops.available and is_slug(plugin_id):
        try:
            template = await _template(request, plugin_id)
        except IpcError as exc:
            log.info("list_agent_templates failed: %s", exc)
    if template is None:
        return render(request, "not_found.html", "dashboard", status_code=404,
                      what=f"template {plugin_id!r}")  # fmt: skip
    return render(
        request,
        "instance_form.html",
        "dashboard",
        mode="add",
        template=template,
        instance=None,
        fields=param_fields(template.params, {}),
        action="/api/instances",
    )


async def add(request: Request) -> Response:
    """``POST /api/instances``: add an instance of a template."""
    form = await read_form(request)
    plugin_id = form.get("plugin_id", "")
    template = await _template(request, plugin_id) if is_slug(plugin_id) else None
    if template is None:
        raise ConfigError("no such template", field="plugin_id")
    fields = _common(form)
    fields["params"] = params_from_form(template.params, form)
    data = await control_state(request).ops.request(
        "add_agent_instance", plugin_id=plugin_id, **fields
    )
    new_id = data.get("instance_id", "")
    return json_ok(message=f"Added {new_id}.", redirect="/", data=data)


async def configure_form(request: Request) -> Response:
    """``GET /instances/{id}/configure``: the instance's settings as a form."""
    instance_id = _instance_id(request)
    ops = control_state(request).ops
    instance: dict[str, Any] | None = None
    template = None
    if instance_id is not None and ops.available:
        try:
            instance = ops_data.instances(await ops.request("get_agent_instances")).get(instance_id)
            if instance is not None:
                template = await _template(request, str(instance.get("plugin_id", "")))
        except IpcError as exc:
            log.info("configure form: %s", exc)
    if instance is None or template is None:
        return render(request, "not_found.html", "dashboard", status_code=404,
                      what=f"instance {instance_id!r} (or Operations is unavailable)")  # fmt: skip
    params = instance.get("params")
    return render(
        request,
        "instance_form.html",
        "dashboard",
        mode="configure",
        template=template,
        instance=instance,
        fields=param_fields(template.params, params if isinstance(params, dict) else {}),
        action=f"/api/instances/{instance_id}/configure",
    )


async def configure(request: Request) -> Response:
    """``POST /api/instances/{id}/configure``: update label, client and parameters."""
    instance_id = _instance_id(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    ops = control_state(request).ops
    form = await read_form(request)
    instance = ops_data.instances(await ops.request("get_agent_instances")).get(instance_id)
    if instance is None:
        return json_error("unknown_instance", f"no instance {instance_id!r}", status=404)
    template = await _template(request, str(instance.get("plugin_id", "")))
    if template is None:
        raise ConfigError("the instance's template is not installed", field="plugin_id")
    fields = _common(form)
    fields["params"] = params_from_form(template.params, form)
    data = await ops.request("update_agent_instance", instance_id=instance_id, **fields)
    return json_ok(message=f"Saved {instance_id}.", redirect="/", data=data)


routes = [
    Route("/instances/new", new_form),
    Route("/api/instances", add, methods=["POST"]),
    Route("/instances/{instance_id}/configure", configure_form),
    Route("/api/instances/{instance_id}/configure", configure, methods=["POST"]),
    Route("/api/instances/{instance_id}/duplicate", duplicate, methods=["POST"]),
    Route("/api/instances/{instance_id}/remove", remove, methods=["POST"]),
    Route("/api/instances/{instance_id}/{action}", action, methods=["POST"]),
]

__all__ = ["routes"]
