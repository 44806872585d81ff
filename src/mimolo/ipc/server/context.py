"""What control-socket handlers may touch: the ``IpcContext`` handed to every command.

Handlers never reach into Operations' internals directly; they use this small surface
(the supervisor's documented methods, the config store, diagnostics, the widget bridge,
shutdown), so the command layer is testable and the service stays free to change its
insides.
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
from mimolo.errors import MimoloError
from mimolo.ipc.server.bounds import bound_item, to_record
from mimolo.operations.artifacts.service import ArtifactService
from mimolo.operations.config_store import ConfigStore
from mimolo.operations.diagnostics import DiagnosticsAPI
from mimolo.operations.package_store import PackageStore
from mimolo.operations.package_templates import PackageCatalog
from mimolo.operations.review_journal import ReviewJournal
from mimolo.operations.widget_bridge import WidgetBridge
from mimolo.protocol.config_schema import AgentConfig, InstanceConfig
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import check_slug


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


async def resolve(value: Any) -> Any:
    """Await ``value`` if the supervisor handed back an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def unknown_instance(instance_id: str) -> MimoloError:
    return MimoloError(f"no instance {instance_id!r} is configured", code="unknown_instance")


@dataclass
class IpcContext:
    """Everything a command handler needs, passed in (so tests can build one).

    ``widgets`` is the supervisor's widget bridge; ``api.build_registry`` hooks one in when
    the supervisor can carry it, and widget commands answer ``widgets_unavailable`` without.
    """

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
    widgets: WidgetBridge | None = None
    packages: PackageCatalog | None = None  # installed packages (handlers.packages)
    package_store: PackageStore | None = None  # the writer of packages/
    artifacts: ArtifactService | None = None  # made on first use (handlers.artifacts)
    review: ReviewJournal | None = None  # made on first use (handlers.review)

    def audit(self, action: str, **fields: Any) -> None:
        """A ``kind: "audit"`` breadcrumb for every config change made over IPC."""
        self.diagnostics.record("audit", action=action, via="ipc", **fields)

    def refused(self, action: str, via: str, exc: MimoloError, **fields: Any) -> None:
        """The warning audit record of a change refused with ``exc`` (``via``: who asked)."""
        self.diagnostics.record(
            "audit",
            level="warning",
            action=action,
            via=via,
            outcome="refused",
            error=exc.code,
            message=exc.message,
            **fields,
        )

    def uptime_s(self) -> float:
        return round(time.monotonic() - self.started_monotonic, 3)

    def configured(self, instance_id: str) -> tuple[AgentConfig, InstanceConfig]:
        """The stored config and the instance's entry, or ``unknown_instance``."""
        check_slug(instance_id, "instance_id")
        config = self.store.load()
        instance = config.instances.get(instance_id)
        if instance is None:
            raise unknown_instance(instance_id)
        return config, instance

    async def state_view(self, instance_id: str) -> dict[str, Any] | None:
        """The instance's runtime state as answered (bounded), or None if it has none."""
        try:
            state = await resolve(self.supervisor.state(instance_id))
        except MimoloError:
            return None
        return None if state is None else bound_item(to_record(state))

    async def apply(self, config: AgentConfig, *, restart: bool = True) -> dict[str, str]:
        """Apply ``config`` through the supervisor: instance id -> what it did."""
        result = await resolve(self.supervisor.apply_config(config, restart=restart))
        return dict(result or {})


__all__ = [
    "DiagnosticsAPI",
    "IpcContext",
    "SupervisorAPI",
    "resolve",
    "unknown_instance",
]
