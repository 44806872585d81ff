"""The dashboard: a card per instance, live-updated, plus the status the banner polls."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mimolo.control import ops_data
from mimolo.control.context import control_state, render
from mimolo.control.responses import json_error, json_ok
from mimolo.control.routes.capture import capture_context
from mimolo.errors import IpcError

log = logging.getLogger(__name__)


async def _cards_context(request: Request) -> dict[str, Any]:
    state = control_state(request)
    if state.ops.available:
        try:
            data = await state.ops.request("get_agent_states")
        except IpcError as exc:
            log.info("get_agent_states failed: %s", exc)
        else:
            return {"states": ops_data.agent_states(data), "stale": False}
    return {"states": ops_data.snapshot_states(state.data_root), "stale": True}


async def _templates(request: Request) -> list[ops_data.TemplateInfo]:
    state = control_state(request)
    if not state.ops.available:
        return []
    try:
        return ops_data.templates(await state.ops.request("list_agent_templates"))
    except IpcError as exc:
        log.info("list_agent_templates failed: %s", exc)
        return []


async def sync_context(request: Request) -> dict[str, Any]:
    """``sync``: ``get_status``'s team store shipper (``{"enabled": false}`` without a
    ``[sync]`` section, or while Operations does not answer)."""
    state = control_state(request)
    if state.ops.available:
        try:
            sync = (await state.ops.request("get_status")).get("sync")
        except IpcError as exc:
            log.info("get_status failed: %s", exc)
        else:
            if isinstance(sync, dict):
                return {"sync": sync}
    return {"sync": {"enabled": False}}


async def sync_fragment(request: Request) -> Response:
    """``GET /fragments/sync``: the team sync line alone, polled by the dashboard."""
    return render(request, "_sync.html", "dashboard", **await sync_context(request))


async def dashboard(request: Request) -> Response:
    """``GET /``: cards, start/stop all, add an instance from a template."""
    context = (
        await _cards_context(request) | await capture_context(request) | await sync_context(request)
    )
    return render(
        request, "dashboard.html", "dashboard", templates=await _templates(request), **context
    )


async def cards_fragment(request: Request) -> Response:
    """``GET /fragments/cards``: the cards alone, polled by ``app.js``."""
    return render(request, "_cards.html", "dashboard", **await _cards_context(request))


async def status(request: Request) -> Response:
    """``GET /api/status``: whether Operations answers (drives the banner)."""
    ops = control_state(request).ops
    return JSONResponse(
        {
            "ok": True,
            "ops_available": ops.available,
            "message": ops.last_error,
            "since": ops.since.isoformat(),
        }
    )


async def monitors(request: Request) -> Response:
    """``POST /api/monitors/{action}``: start or stop every instance."""
    action = request.path_params["action"]
    if action not in ("start", "stop"):
        return json_error("unknown_action", f"unknown action {action!r}", status=404)
    data = await control_state(request).ops.request(f"{action}_all_agents")
    verb = "Started" if action == "start" else "Stopped"
    return json_ok(message=f"{verb} all monitors.", data=data)


routes = [
    Route("/", dashboard),
    Route("/fragments/cards", cards_fragment),
    Route("/fragments/sync", sync_fragment),
    Route("/api/status", status),
    Route("/api/monitors/{action}", monitors, methods=["POST"]),
]

__all__ = ["routes"]
