"""Widget commands: ``get_widget_manifest``, ``request_widget_render``,
``dispatch_widget_action`` and ``resolve_artifact_token`` (DESIGN §7, §8).

Thin adapters from the control socket to the ``WidgetBridge``: they check the instance
exists (and runs, where an agent must answer), then let the bridge route, preflight and
cache. Errors are ``WidgetError`` / ``ArtifactError`` codes, answered verbatim.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from mimolo.errors import MimoloError, WidgetError
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.socket_server import CommandRegistry, InvalidField
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


def register(
    registry: CommandRegistry, ctx: IpcContext, bridge: WidgetBridge | None = None
) -> None:
    """Add the widget commands to ``registry``, on ``bridge`` or one built from ``ctx``."""
    bridge = bridge or build_bridge(ctx)
    if bridge is None:
        unavailable(registry)
        return

    async def running_plugin(instance_id: str, *, must_run: bool) -> tuple[str, str]:
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

    async def get_widget_manifest(params: ManifestParams) -> dict[str, Any]:
        """What the instance's widget supports, as its agent announced at handshake."""
        plugin_id, run_state = await running_plugin(params.instance_id, must_run=False)
        manifest = bridge.manifest(params.instance_id)
        known = bridge.knows_manifest(params.instance_id)
        return {
            "instance_id": params.instance_id,
            "plugin_id": plugin_id,
            "state": run_state,
            "supported": bool(manifest and manifest.get("supports_render", True))
            if known
            else None,
            "manifest": manifest,
        }

    async def request_widget_render(params: RenderParams) -> dict[str, Any]:
        """A preflighted frame with artifact tokens, from the cache while its TTL lasts."""
        for key, value in (("width", params.width), ("height", params.height)):
            if value is not None and not 0 < value <= MAX_CANVAS_PX:
                raise InvalidField(key, f"must be between 1 and {MAX_CANVAS_PX}")
        plugin_id, _ = await running_plugin(params.instance_id, must_run=True)
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

    async def dispatch_widget_action(params: ActionParams) -> dict[str, Any]:
        """Forward a widget action; ``refresh`` makes the agent flush a summary at once."""
        if len(_encoder.encode(params.args)) > MAX_ACTION_ARGS_BYTES:
            raise InvalidField("args", f"must encode to at most {MAX_ACTION_ARGS_BYTES} bytes")
        if params.action in ("request_id", "action") or "request_id" in params.args:
            raise InvalidField("args", "request_id and action are set by Operations")
        manifest = bridge.manifest(params.instance_id)
        await running_plugin(params.instance_id, must_run=True)
        actions = manifest.get("supported_actions") if manifest else None
        if isinstance(actions, list) and params.action not in actions:
            raise WidgetError(
                f"{params.instance_id}'s widget does not support {params.action!r}",
                code="unsupported_action",
            )
        return await bridge.action(params.instance_id, params.action, params.args)

    async def resolve_artifact_token(params: ResolveTokenParams) -> dict[str, Any]:
        """The verified file behind a token (Control re-opens it the same safe way)."""
        if params.instance_id is not None:
            check_slug(params.instance_id, "instance_id")
        resolved = bridge.tokens.resolve(params.token, instance_id=params.instance_id)
        return msgspec.to_builtins(resolved)  # type: ignore[no-any-return]

    registry.add("get_widget_manifest", get_widget_manifest, ManifestParams)
    registry.add("request_widget_render", request_widget_render, RenderParams)
    registry.add("dispatch_widget_action", dispatch_widget_action, ActionParams, mutating=True)
    registry.add("resolve_artifact_token", resolve_artifact_token, ResolveTokenParams)


def unavailable(registry: CommandRegistry) -> None:
    """Register the widget commands as answering ``widgets_unavailable`` (no bridge wired)."""

    async def refuse(_: object) -> dict[str, Any]:
        raise MimoloError(
            "widgets are not available in this Operations", code="widgets_unavailable"
        )

    for name, params in (
        ("get_widget_manifest", ManifestParams),
        ("request_widget_render", RenderParams),
        ("dispatch_widget_action", ActionParams),
        ("resolve_artifact_token", ResolveTokenParams),
    ):
        registry.add(name, refuse, params)


__all__ = [
    "ActionParams",
    "ManifestParams",
    "RenderParams",
    "ResolveTokenParams",
    "build_bridge",
    "register",
    "unavailable",
]
