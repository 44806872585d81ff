"""Assembles the control API: every command family on one registry, served on the socket,
and ``control_socket_service``, the ``Operations`` extra service the CLI composes in."""

from __future__ import annotations

import asyncio
from typing import Any

from mimolo.agents.catalog import builtin_templates
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.handlers import COMMANDS
from mimolo.ipc.server.handlers.widgets import build_bridge
from mimolo.ipc.server.registry import CommandRegistry
from mimolo.ipc.server.socket_server import IpcServer
from mimolo.operations.config_store import ConfigStore
from mimolo.operations.package_store import PackageStore
from mimolo.operations.service import Operations


def build_registry(ctx: IpcContext) -> CommandRegistry[IpcContext]:
    """Every command bound to ``ctx``; hooks a widget bridge into the supervisor if it has
    none (widget commands answer ``widgets_unavailable`` when it cannot carry one)."""
    if ctx.widgets is None:
        ctx.widgets = build_bridge(ctx)
    return CommandRegistry(ctx, COMMANDS)


def build_server(ctx: IpcContext, **options: Any) -> IpcServer:
    """An ``IpcServer`` at the data root's socket; refused peers leave an audit record."""

    def peer_refused(peer: dict[str, Any]) -> None:
        ctx.diagnostics.record("audit", level="warning", action="peer_refused", via="ipc", **peer)

    return IpcServer(
        ctx.data_root.socket_path,
        build_registry(ctx),
        on_peer_refused=peer_refused,
        **options,
    )


async def control_socket_service(ops: Operations) -> None:
    """Serve the control socket for ``ops`` until cancelled (an ``Operations`` extra service)."""
    ctx = IpcContext(
        data_root=ops.data_root,
        supervisor=ops.supervisor,
        store=ConfigStore(ops.data_root.config_path, ops.resolve),
        diagnostics=ops.diagnostics,
        templates=lambda: {**builtin_templates(), **ops.packages.templates()},
        request_shutdown=ops.request_shutdown,
        status_extra=ops.status_extra,
        started_at=ops.started_at.isoformat().replace("+00:00", "Z"),
        pid=ops.pid,
        packages=ops.packages,
        package_store=PackageStore(
            ops.data_root,
            builtins=builtin_templates,
            developer_mode=lambda: ops.packages.developer_mode,
        ),
    )
    async with build_server(ctx):
        await asyncio.Event().wait()


__all__ = ["build_registry", "build_server", "control_socket_service"]
