"""Agent commands: the runtime states and the lifecycle of one instance or all of them.

Each answers when the supervisor is done, with what happened: the instance's state
afterwards (``start_agent`` … ``flush_agent``) or every state (``start_all_agents``,
``stop_all_agents``, paged like ``get_agent_states``). ``start_monitors`` and
``stop_monitors`` are the older names of the two "all" commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from mimolo.ipc.server.bounds import PageParams, paged
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.registry import Command, NoParams


class InstanceParams(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str


class InstanceAnswer(msgspec.Struct):
    """A lifecycle answer: the instance and its state once the command is done (``None``
    when the supervisor holds no state for it)."""

    instance_id: str
    state: dict[str, Any] | None


async def get_agent_states(ctx: IpcContext, params: PageParams) -> dict[str, Any]:
    """Runtime state of every instance (health, pid, metrics, restarts, drops), paged."""
    return paged("agents", await resolve(ctx.supervisor.states()), params)


async def _lifecycle(
    ctx: IpcContext, params: InstanceParams, method: Callable[[str], Any]
) -> InstanceAnswer:
    ctx.configured(params.instance_id)
    await resolve(method(params.instance_id))
    return InstanceAnswer(params.instance_id, await ctx.state_view(params.instance_id))


async def start_agent(ctx: IpcContext, params: InstanceParams) -> InstanceAnswer:
    """Start one instance (clearing a quarantine); answers once it handshook or failed."""
    return await _lifecycle(ctx, params, ctx.supervisor.start_agent)


async def stop_agent(ctx: IpcContext, params: InstanceParams) -> InstanceAnswer:
    """Stop one instance gracefully; answers after its process exited."""
    return await _lifecycle(ctx, params, ctx.supervisor.stop_agent)


async def restart_agent(ctx: IpcContext, params: InstanceParams) -> InstanceAnswer:
    """Stop, then start one instance."""
    return await _lifecycle(ctx, params, ctx.supervisor.restart_agent)


async def flush_agent(ctx: IpcContext, params: InstanceParams) -> InstanceAnswer:
    """Ask a running agent to flush a summary now; answers once it acknowledged."""
    return await _lifecycle(ctx, params, ctx.supervisor.flush_agent)


async def start_all_agents(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Start every enabled instance; answers every state (first page)."""
    await resolve(ctx.supervisor.start_all())
    return paged("agents", await resolve(ctx.supervisor.states()), PageParams())


async def stop_all_agents(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Stop every instance gracefully (final summaries are kept as evidence)."""
    await resolve(ctx.supervisor.stop_all())
    return paged("agents", await resolve(ctx.supervisor.states()), PageParams())


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("get_agent_states", PageParams, get_agent_states),
    Command("start_agent", InstanceParams, start_agent, mutating=True),
    Command("stop_agent", InstanceParams, stop_agent, mutating=True),
    Command("restart_agent", InstanceParams, restart_agent, mutating=True),
    Command("flush_agent", InstanceParams, flush_agent, mutating=True),
    Command(
        "start_all_agents", NoParams, start_all_agents, mutating=True, aliases=("start_monitors",)
    ),
    Command(
        "stop_all_agents", NoParams, stop_all_agents, mutating=True, aliases=("stop_monitors",)
    ),
]


__all__ = [
    "COMMANDS",
    "InstanceAnswer",
    "InstanceParams",
    "flush_agent",
    "get_agent_states",
    "restart_agent",
    "start_agent",
    "start_all_agents",
    "stop_agent",
    "stop_all_agents",
]
