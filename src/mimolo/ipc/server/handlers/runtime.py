"""Runtime commands: ``ping``, ``get_status``, ``shutdown_operations``, ``get_diagnostics_tail``."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Final, Literal

import msgspec

from mimolo import APP_VERSION, PROTOCOL_VERSION
from mimolo.errors import InvalidField
from mimolo.ipc.server.context import IpcContext, resolve
from mimolo.ipc.server.handlers.capture import capture_status
from mimolo.ipc.server.registry import Command, NoParams
from mimolo.ipc.types import API_VERSION, utc_now_iso
from mimolo.slugs import check_slug

log = logging.getLogger(__name__)

MAX_TAIL: Final = 1000
TAIL_BYTES_BUDGET: Final = 512 * 1024
_LEVELS: Final = {"debug": 0, "info": 1, "warning": 2, "error": 3}
_encoder: Final = msgspec.json.Encoder()


class DiagnosticsTailParams(msgspec.Struct, forbid_unknown_fields=True):
    limit: int = 100
    instance_id: str | None = None
    level: Literal["debug", "info", "warning", "error"] | None = None
    kind: str | None = None


def _level_of(record: dict[str, Any]) -> int:
    level = record.get("level")
    if isinstance(level, str) and level in _LEVELS:
        return _LEVELS[level]
    return _LEVELS["error"] if record.get("kind") == "error" else _LEVELS["info"]


def select_tail(
    records: list[dict[str, Any]], params: DiagnosticsTailParams, budget: int = TAIL_BYTES_BUDGET
) -> tuple[list[dict[str, Any]], bool]:
    """Newest-last records passing the filters, within ``limit`` and a byte budget.

    Returns ``(records, truncated)``; ``truncated`` says older matches were left out.
    """
    minimum = _LEVELS[params.level] if params.level else 0
    matches = [
        r
        for r in records
        if (params.instance_id is None or r.get("instance_id") == params.instance_id)
        and (params.kind is None or r.get("kind") == params.kind)
        and _level_of(r) >= minimum
    ]
    chosen: list[dict[str, Any]] = []
    used = 0
    for record in reversed(matches):
        if len(chosen) >= params.limit:
            break
        size = len(_encoder.encode(record))
        if used + size > budget:
            break
        chosen.append(record)
        used += size
    chosen.reverse()
    return chosen, len(chosen) < len(matches)


def agent_counts(states: list[Any]) -> dict[str, int]:
    """How many agents are in each state (``running``, ``stopped`` …)."""
    counts: Counter[str] = Counter()
    for state in states:
        value = getattr(state, "state", None)
        if value is None and isinstance(state, dict):
            value = state.get("state")
        counts[str(value)] += 1
    return dict(sorted(counts.items()))


def diagnostics_dropped(diagnostics: object, extra: dict[str, Any]) -> int:
    """Diagnostics records dropped since Operations started (a running total).

    ``Diagnostics.dropped_total`` is that total; older builds only had ``dropped`` (which
    reset at every drops record), and ``status_extra`` may carry a figure of its own.
    """
    for value in (
        getattr(diagnostics, "dropped_total", None),
        getattr(diagnostics, "dropped", None),
        extra.get("diagnostics_dropped"),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def containment_mode(extra: dict[str, Any]) -> str:
    """How agents' descendants are contained (``cgroup_v2``, ``subreaper`` …) or ``unknown``."""
    mode = extra.get("containment")
    return mode if isinstance(mode, str) and mode else "unknown"


async def ping(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Liveness: cheap, touches nothing."""
    return {"pong": True, "pid": ctx.pid, "uptime_s": ctx.uptime_s()}


async def get_status(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Operations at a glance: versions, paths, uptime, agent counts, containment."""
    states = list(await resolve(ctx.supervisor.states()))
    extra = dict(ctx.status_extra())
    return {
        "app_version": APP_VERSION,
        "api_version": API_VERSION,
        "protocol_version": PROTOCOL_VERSION,
        "pid": ctx.pid,
        "started_at": ctx.started_at,
        "uptime_s": ctx.uptime_s(),
        "now": utc_now_iso(),
        "data_dir": str(ctx.data_root.root),
        "agents": {"total": len(states), "by_state": agent_counts(states)},
        **extra,
        "diagnostics_dropped": diagnostics_dropped(ctx.diagnostics, extra),
        "containment": containment_mode(extra),
        "capture_pause": capture_status(ctx),
    }


async def shutdown_operations(ctx: IpcContext, _: NoParams) -> dict[str, Any]:
    """Ask Operations to stop every agent gracefully and exit; answers first."""
    log.info("shutdown requested over the control socket")
    ctx.diagnostics.record("lifecycle", level="info", event="shutdown_requested", via="ipc")
    ctx.request_shutdown()
    return {"shutting_down": True}


async def get_diagnostics_tail(ctx: IpcContext, params: DiagnosticsTailParams) -> dict[str, Any]:
    """The newest diagnostics records, filtered, bounded, with a ``truncated`` flag."""
    if not 1 <= params.limit <= MAX_TAIL:
        raise InvalidField("limit", f"must be between 1 and {MAX_TAIL}")
    if params.instance_id is not None:
        check_slug(params.instance_id, "instance_id")
    source = ctx.diagnostics.tail(MAX_TAIL, instance_id=params.instance_id)
    records, truncated = select_tail(source, params)
    return {"records": records, "count": len(records), "truncated": truncated}


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("ping", NoParams, ping),
    Command("get_status", NoParams, get_status),
    Command("shutdown_operations", NoParams, shutdown_operations),
    Command("get_diagnostics_tail", DiagnosticsTailParams, get_diagnostics_tail),
]


__all__ = [
    "COMMANDS",
    "MAX_TAIL",
    "DiagnosticsTailParams",
    "agent_counts",
    "containment_mode",
    "diagnostics_dropped",
    "get_diagnostics_tail",
    "get_status",
    "ping",
    "select_tail",
    "shutdown_operations",
]
