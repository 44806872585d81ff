"""Run a real Supervisor (with ledger and diagnostics) over test agent scripts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.operations.agent_state import AgentState
from mimolo.operations.config import validate_config
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.ledger import Ledger
from mimolo.operations.supervisor import Supervisor, SupervisorEvent
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

SCRIPT = Path(__file__).parent / "agents" / "scripted.py"


class ScriptTemplate(AgentTemplate, frozen=True, kw_only=True):
    """A template whose command runs a test script (injected through the resolver only)."""

    script: str

    def argv(self) -> list[str]:
        return [sys.executable, self.script]


SCRIPTED = ScriptTemplate(
    plugin_id="scripted",
    label="Scripted test agent",
    description="tests/operations/agents/scripted.py",
    version="1.0.0",
    module="unused",
    script=str(SCRIPT),
    params=(
        Param(name="behavior", type="str", default="good"),
        Param(name="crash_after_s", type="float", default=0.2),
        Param(name="flood_summaries", type="bool", default=False),
        Param(name="flood_bytes", type="int", default=100),
    ),
)

FAST_SETTINGS: dict[str, Any] = {
    "heartbeat_interval_s": 0.5,
    "agent_flush_interval_s": 3600.0,
    "start_timeout_s": 20.0,
    "hang_timeout_s": 3.0,
    "stop_grace_s": 3.0,
    "restart_backoff_initial_s": 0.1,
    "restart_backoff_max_s": 0.4,
    "restart_stable_after_s": 30.0,
    "quarantine_max_restarts": 3,
    "quarantine_window_s": 120.0,
    "resource_sample_interval_s": 0.5,
}


def resolver(name: str) -> AgentTemplate | None:
    if name == "scripted":
        return SCRIPTED
    return builtin_templates().get(name)


def make_config(instances: dict[str, dict[str, Any]], **settings: Any) -> AgentConfig:
    raw = {
        "settings": {**FAST_SETTINGS, **settings},
        "instances": {
            iid: {"template": "scripted", "label": iid, **spec} for iid, spec in instances.items()
        },
    }
    return validate_config(raw, resolver)


class Harness:
    """A supervisor with its ledger and diagnostics, plus polling helpers."""

    def __init__(self, supervisor: Supervisor, ledger: Ledger, diagnostics: Diagnostics) -> None:
        self.supervisor = supervisor
        self.ledger = ledger
        self.diagnostics = diagnostics
        self.events: list[SupervisorEvent] = []

    async def until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll ``predicate`` until true (generous deadline; never a tight timing assert)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.05)

    async def until_state(self, iid: str, *states: str, timeout: float = 30.0) -> AgentState:
        await self.until(lambda: self.supervisor.state(iid).state in states, timeout)
        return self.supervisor.state(iid)

    def diag(self, kind: str | None = None, iid: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.diagnostics.tail(1000, instance_id=iid)
            if kind is None or r["kind"] == kind
        ]


@asynccontextmanager
async def running(
    data_root: DataRoot, config: AgentConfig, *, autostart: bool = True, tick_s: float = 0.1
) -> AsyncIterator[Harness]:
    """Run everything in a task group; stop all agents and close files on the way out."""
    ledger = Ledger(data_root, fsync_interval_s=0.05)
    ledger.open()
    diagnostics = Diagnostics(data_root, flush_interval_s=0.05)
    diagnostics.open()
    harness: Harness
    supervisor = Supervisor(
        data_root,
        config,
        ledger,
        diagnostics,
        resolve=resolver,
        listener=lambda e: harness.events.append(e),
        tick_s=tick_s,
    )
    harness = Harness(supervisor, ledger, diagnostics)
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(ledger.run()),
            tg.create_task(diagnostics.run()),
        ]
        sup_task = tg.create_task(supervisor.run(autostart=autostart))
        try:
            await supervisor.wait_started()
            yield harness
        finally:
            await supervisor.stop_all()
            sup_task.cancel()
            await asyncio.wait({sup_task})
            for task in tasks:
                task.cancel()


def ledger_records(data_root: DataRoot) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(data_root.evidence_dir.rglob("*.evidence.jsonl")):
        out += [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]
    return out
