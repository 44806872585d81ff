"""Widget commands: ``get_widget_manifest``, ``request_widget_render``,
``dispatch_widget_action`` and ``resolve_artifact_token`` (DESIGN §7, §8).

Thin adapters from the control socket to the ``WidgetBridge`` (``IpcContext.widgets``):
they check the instance exists (and runs, where an agent must answer), then let the bridge
route, preflight and cache. Errors are ``WidgetError`` / ``ArtifactError`` codes, answered
verbatim; without a bridge every widget command answers ``widgets_unavailable``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from mimolo.errors import InvalidField, MimoloError, WidgetError
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.registry import Command
from mimolo.operations.artifact_tokens import ArtifactTokenStore
from mimolo.operations.widget_bridge import WidgetBridge
from mimolo.slugs import check_slug

MAX_ACTION_ARGS_BYTES: Final = 4096
MAX_CANVAS_PX: Final = 8192
_encoder: Final = msgspec.json.Encoder()


class ManifestParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str


class RenderParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    force: bool = False
    width: int | None = None
    height: int | None = None


class ActionParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    action: str
    args: dict[str, Any] = {}


class ResolveTokenParams(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    instance_id: str | None = None


def _field(value: Any, key: str) -> Any:
    """Read ``key`` from a state struct or dict."""
    if isinstance(value, dict):
        return value.get(key)
    return getattr(value, key, None)


def build_bridge(ctx: IpcContext) -> WidgetBridge | None:
    """The supervisor's widget bridge, creating and hooking one in if it has none yet.

    Uses ``Supervisor.send_command`` to reach agents and ``Supervisor.message_hook`` to get
    their widget frames, acks, errors, handshake manifests and exits back.
    """
    existing = getattr(ctx.supervisor, "message_hook", None)
    if isinstance(existing, WidgetBridge):
        return existing
    send = getattr(ctx.supervisor, "send_command", None)
    if send is None or not hasattr(ctx.supervisor, "message_hook") or existing is not None:
        return None
    bridge = WidgetBridge(
        ctx.data_root,
        send=send,
        tokens=ArtifactTokenStore(ctx.data_root),
        diagnostics=ctx.diagnostics,
    )
    ctx.supervisor.message_hook = bridge
    return bridge


def _bridge(ctx: IpcContext) -> WidgetBridge:
    if ctx.widgets is None:
        raise MimoloError(
            "widgets are not available in this Operations", code="widgets_unavailable"
        )
    return ctx.widgets


async def _running_plugin(ctx: IpcContext, instance_id: str, *, must_run: bool) -> tuple[str, str]:
    """``(plugin_id, run state)`` of an instance; ``agent_not_running`` when it must run."""
    check_slug(instance_id, "instance_id")
    state = await resolve(ctx.supervisor.state(instance_id))
    plugin_id, run_state = str(_field(state, "plugin_id")), str(_field(state, "state"))
    if must_run and run_state != "running":
        raise WidgetError(
            f"{instance_id} is {run_state}; widgets render only while it runs",
            code="agent_not_running",
        )
    return plugin_id, run_state


async def get_widget_manifest(ctx: IpcContext, params: ManifestParams) -> dict[str, Any]:
    """What the instance's widget supports, as its agent announced at handshake."""
    bridge = _bridge(ctx)
    plugin_id, run_state = await _running_plugin(ctx, params.instance_id, must_run=False)
    manifest = bridge.manifest(params.instance_id)
    known = bridge.knows_manifest(params.instance_id)
    return {
        "instance_id": params.instance_id,
        "plugin_id": plugin_id,
        "state": run_state,
        "supported": bool(manifest and manifest.get("supports_render", True)) if known else None,
        "manifest": manifest,
    }


async def request_widget_render(ctx: IpcContext, params: RenderParams) -> dict[str, Any]:
    """A preflighted frame with artifact tokens, from the cache while its TTL lasts."""
    bridge = _bridge(ctx)
    for key, value in (("width", params.width), ("height", params.height)):
        if value is not None and not 0 < value <= MAX_CANVAS_PX:
            raise InvalidField(key, f"must be between 1 and {MAX_CANVAS_PX}")
    plugin_id, _ = await _running_plugin(ctx, params.instance_id, must_run=True)
    frame, cached = await bridge.render(
        params.instance_id,
        plugin_id,
        force=params.force,
        width=params.width,
        height=params.height,
    )
    manifest = bridge.manifest(params.instance_id) or {}
    age_ms = max(0.0, (bridge.clock() - frame.rendered_at) * 1000)
    return {
        "instance_id": frame.instance_id,
        "plugin_id": frame.plugin_id,
        "request_id": frame.request_id,
        "mode": frame.mode,
        "html": frame.html,
        "ttl_ms": frame.ttl_ms,
        "state_token": frame.state_token,
        "bytes": frame.bytes,
        "images": frame.images,
        "cached": cached,
        "min_refresh_ms": manifest.get("min_refresh_ms"),
        "age_ms": round(age_ms, 1),
        "rendered_at": (datetime.now(UTC) - timedelta(milliseconds=age_ms)).isoformat(),
    }


async def dispatch_widget_action(ctx: IpcContext, params: ActionParams) -> dict[str, Any]:
    """Forward a widget action; ``refresh`` makes the agent flush a summary at once."""
    bridge = _bridge(ctx)
    if len(_encoder.encode(params.args)) > MAX_ACTION_ARGS_BYTES:
        raise InvalidField("args", f"must encode to at most {MAX_ACTION_ARGS_BYTES} bytes")
    if params.action in ("request_id", "action") or "request_id" in params.args:
        raise InvalidField("args", "request_id and action are set by Operations")
    manifest = bridge.manifest(params.instance_id)
    await _running_plugin(ctx, params.instance_id, must_run=True)
    actions = manifest.get("supported_actions") if manifest else None
    if isinstance(actions, list) and params.action not in actions:
        raise WidgetError(
            f"{params.instance_id}'s widget does not support {params.action!r}",
            code="unsupported_action",
        )
    return await bridge.action(params.instance_id, params.action, params.args)


async def resolve_artifact_token(ctx: IpcContext, params: ResolveTokenParams) -> dict[str, Any]:
    """The verified file behind a token (Control re-opens it the same safe way)."""
    bridge = _bridge(ctx)
    if params.instance_id is not None:
        check_slug(params.instance_id, "instance_id")
    resolved = bridge.tokens.resolve(params.token, instance_id=params.instance_id)
    return msgspec.to_builtins(resolved)  # type: ignore[no-any-return]


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("get_widget_manifest", ManifestParams, get_widget_manifest),
    Command("request_widget_render", RenderParams, request_widget_render),
    Command("dispatch_widget_action", ActionParams, dispatch_widget_action, mutating=True),
    Command("resolve_artifact_token", ResolveTokenParams, resolve_artifact_token),
]


__all__ = [
    "COMMANDS",
    "ActionParams",
    "ManifestParams",
    "RenderParams",
    "ResolveTokenParams",
    "build_bridge",
    "dispatch_widget_action",
    "get_widget_manifest",
    "request_widget_render",
    "resolve_artifact_token",
]
