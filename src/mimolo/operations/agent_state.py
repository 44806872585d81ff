"""What Operations reports about each agent instance (IPC, snapshot, ``mimolo status``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from mimolo.operations.budget import Classification

RunState = Literal[
    "stopped",  # not running (never started, stopped by request, or disabled)
    "starting",  # spawned, waiting for the handshake
    "running",  # handshake accepted
    "stopping",  # graceful stop sequence in progress
    "backoff",  # exited unexpectedly; a restart is scheduled
    "quarantined",  # too many restarts in the window; waits for the user
    "rejected",  # handshake refused (protocol version); not restarted
    "failed",  # could not be started at all (spawn error); not restarted
    "untrusted",  # its package failed launch-time verification; not started, not restarted
]

TERMINAL_STATES: frozenset[str] = frozenset(
    {"stopped", "quarantined", "rejected", "failed", "untrusted"}
)


class AgentState(msgspec.Struct, kw_only=True):
    """One instance as Operations sees it right now."""

    instance_id: str
    plugin_id: str
    instance_label: str
    enabled: bool
    state: RunState
    health: Classification
    agent_health: str | None = None
    health_message: str | None = None
    pid: int | None = None
    started_at: datetime | None = None
    uptime_s: float | None = None
    last_heartbeat_at: datetime | None = None
    last_output_at: datetime | None = None
    metrics: dict[str, Any] = {}
    cpu_percent: float | None = None
    rss_mb: float | None = None
    cpu_budget_percent: float = 0.0
    restarts: int = 0
    drops: int = 0
    drop_counts: dict[str, int] = {}
    rejected_lines: dict[str, int] = {}
    summaries: int = 0
    last_error: str | None = None
    agent_version: str | None = None
    protocol_version: str | None = None
    next_restart_at: datetime | None = None
    client_id: str | None = None
    verified: bool = True  # False: an UNVERIFIED package (developer mode)


__all__ = ["TERMINAL_STATES", "AgentState", "RunState"]
