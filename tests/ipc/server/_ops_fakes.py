"""A real control server over the real command registry, with a supervisor that holds
whatever states a test gives it (huge metrics, hundreds of instances)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.ipc.server.api import build_server
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.socket_server import IpcServer
from mimolo.operations.agent_state import AgentState
from mimolo.operations.config_store import ConfigStore
from mimolo.protocol.config_schema import AgentConfig


def huge_state(instance_id: str, metrics_bytes: int = 600 * 1024, **fields: Any) -> AgentState:
    """A running instance whose heartbeat metrics are ``metrics_bytes`` large."""
    return AgentState(
        instance_id=instance_id,
        plugin_id="agent_example",
        instance_label=f"Label {instance_id}",
        enabled=True,
        state="running",
        health="healthy",
        pid=4242,
        started_at=datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        metrics={"queue": 3, "blob": "m" * metrics_bytes},
        **fields,
    )


def full_state(instance_id: str) -> AgentState:
    """An instance at the per-item caps without exceeding them (about 10 KiB answered)."""
    metrics = {f"metric_{n:02d}": "v" * 100 for n in range(60)}
    return AgentState(
        instance_id=instance_id,
        plugin_id="agent_example",
        instance_label=f"Label {instance_id}",
        enabled=True,
        state="backoff",
        health="degraded",
        metrics=metrics,
        last_error="x" * 1000,
        health_message="y" * 1000,
    )


class FakeSupervisor:
    """Holds ``states``; lifecycle calls change nothing."""

    def __init__(self, states: list[AgentState]) -> None:
        self._states = states

    def states(self) -> list[AgentState]:
        return list(self._states)

    def state(self, instance_id: str) -> AgentState:
        for state in self._states:
            if state.instance_id == instance_id:
                return state
        raise MimoloError(f"no instance {instance_id!r}", code="unknown_instance")

    def start_all(self) -> None:
        return None

    def stop_all(self) -> None:
        return None

    def start_agent(self, instance_id: str) -> str:
        return "started"

    stop_agent = restart_agent = flush_agent = start_agent

    def apply_config(self, config: AgentConfig, *, restart: bool = True) -> dict[str, str]:
        return {}


class GatedSupervisor(FakeSupervisor):
    """``states()`` waits for ``gate``: a request that needs them stays in flight."""

    def __init__(self, states: list[AgentState], gate: asyncio.Event) -> None:
        super().__init__(states)
        self.gate = gate

    async def states(self) -> list[AgentState]:  # type: ignore[override]
        await self.gate.wait()
        return list(self._states)


class BrokenSupervisor(FakeSupervisor):
    """``states()`` fails (the handler answers ``internal_error``)."""

    def states(self) -> list[AgentState]:
        raise RuntimeError("supervisor bug")


class FakeDiagnostics:
    """Records nothing; exposes the drop counters ``get_status`` reads."""

    def __init__(self, **counters: int) -> None:
        for name, value in counters.items():
            setattr(self, name, value)

    def record(
        self, kind: str, *, instance_id: str | None = None, level: Any = None, **fields: Any
    ) -> None:
        return None

    def tail(self, limit: int = 200, *, instance_id: str | None = None) -> list[dict[str, Any]]:
        return []


@contextmanager
def short_root() -> Iterator[DataRoot]:
    """A fresh data root under /tmp (short, so the socket path fits)."""
    path = Path(tempfile.mkdtemp(prefix="mipc-", dir="/tmp"))
    try:
        yield DataRoot.resolve(path / "root").ensure()
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_instances(root: DataRoot, count: int, *, note_chars: int = 0) -> None:
    """``count`` configured agent_example instances (a long label when ``note_chars``)."""
    parts = []
    for n in range(count):
        label = f"Example {n} " + "n" * note_chars
        parts.append(
            f'[instances.ex-{n:03d}]\ntemplate = "agent_example"\nlabel = "{label.strip()}"\n'
            "enabled = false\n"
        )
    root.config_path.write_text("\n".join(parts))


@asynccontextmanager
async def serving(
    root: DataRoot,
    states: list[AgentState],
    *,
    diagnostics: FakeDiagnostics | None = None,
    extra: dict[str, Any] | None = None,
    supervisor: FakeSupervisor | None = None,
    **options: Any,
) -> AsyncIterator[IpcServer]:
    """The real registry and control server at ``root``'s socket over ``states``."""
    ctx = IpcContext(
        data_root=root,
        supervisor=supervisor or FakeSupervisor(states),
        store=ConfigStore(root.config_path),
        diagnostics=diagnostics or FakeDiagnostics(),
        templates=builtin_templates,
        request_shutdown=lambda: None,
        status_extra=lambda: dict(extra or {}),
        started_at="2026-03-04T09:00:00.000Z",
    )
    async with build_server(ctx, **options) as server:
        yield server
