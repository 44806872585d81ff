"""Assembles the control API: every command family on one registry, served on the socket."""

from __future__ import annotations

from typing import Any

from mimolo.operations import ipc_agents, ipc_runtime, ipc_widgets
from mimolo.operations.control_server import CommandRegistry, ControlServer
from mimolo.operations.ipc_context import IpcContext


def build_registry(ctx: IpcContext) -> CommandRegistry:
    """The runtime and agent command families bound to ``ctx``."""
    registry = CommandRegistry()
    ipc_runtime.register(registry, ctx)
    ipc_agents.register(registry, ctx)
    # Widget commands; hooks a WidgetBridge into the supervisor (owned by the widgets issue).
    ipc_widgets.register(registry, ctx)
    return registry


def build_control_server(ctx: IpcContext, **options: Any) -> ControlServer:
    """A ``ControlServer`` at the data root's socket; refused peers leave an audit record."""

    def peer_refused(peer: dict[str, Any]) -> None:
        ctx.diagnostics.record("audit", level="warning", action="peer_refused", via="ipc", **peer)

    return ControlServer(
        ctx.data_root.socket_path,
        build_registry(ctx),
        on_peer_refused=peer_refused,
        **options,
    )


__all__ = ["build_control_server", "build_registry"]
