"""What control-socket handlers may touch: the ``IpcContext`` handed to every command.

Handlers never reach into Operations' internals directly; they use this small surface
(the supervisor's documented methods, the config store, diagnostics, shutdown), so the
command layer is testable and the service stays free to change its insides.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mimolo.dataroot import DataRoot
from mimolo.operations.config_store import ConfigStore
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.templates import AgentTemplate


class SupervisorAPI(Protocol):
    """The supervisor methods the control API uses (sync or async, both accepted)."""

    def start_agent(self, instance_id: str) -> Any: ...
    def stop_agent(self, instance_id: str) -> Any: ...
    def restart_agent(self, instance_id: str) -> Any: ...
    def flush_agent(self, instance_id: str) -> Any: ...
    def start_all(self) -> Any: ...
    def stop_all(self) -> Any: ...
    def apply_config(self, config: AgentConfig, *, restart: bool = True) -> Any: ...
    def states(self) -> Any: ...
    def state(self, instance_id: str) -> Any: ...


class DiagnosticsAPI(Protocol):
    """Diagnostics as the control API uses it: write one record, read the live tail."""

    def record(
        self, kind: str, *, instance_id: str | None = None, level: Any = None, **fields: Any
    ) -> None: ...

    def tail(self, limit: int = 200, *, instance_id: str | None = None) -> list[dict[str, Any]]: ...


async def resolve(value: Any) -> Any:
    """Await ``value`` if the supervisor handed back an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class IpcContext:
    """Everything a command handler needs, passed in (so tests can build one)."""

    data_root: DataRoot
    supervisor: SupervisorAPI
    store: ConfigStore
    diagnostics: DiagnosticsAPI
    templates: Callable[[], Mapping[str, AgentTemplate]]
    request_shutdown: Callable[[], None]
    status_extra: Callable[[], dict[str, Any]] = dict
    started_monotonic: float = field(default_factory=time.monotonic)
    started_at: str = ""
    pid: int = field(default_factory=os.getpid)
    config_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def audit(self, action: str, **fields: Any) -> None:
        """A ``kind: "audit"`` breadcrumb for every config change made over IPC."""
        self.diagnostics.record("audit", action=action, via="ipc", **fields)

    def uptime_s(self) -> float:
        return round(time.monotonic() - self.started_monotonic, 3)


__all__ = ["DiagnosticsAPI", "IpcContext", "SupervisorAPI", "resolve"]
