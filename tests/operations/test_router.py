"""The line boundary: whatever an agent prints, the router counts it and keeps going."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.operations.backoff import RestartPolicy, RestartTracker
from mimolo.operations.clock import LoopClock
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.ledger import Ledger
from mimolo.operations.router import MessageRouter
from mimolo.operations.state_bounds import TRUNCATED_KEY
from mimolo.protocol.config_schema import InstanceConfig, Settings
from mimolo.protocol.messages import AckMessage

pytestmark = pytest.mark.anyio

ENVELOPE: dict[str, Any] = {
    "timestamp": "2026-12-01T12:00:00Z",
    "agent_id": "inst",
    "agent_label": "inst",
    "agent_version": "1.0.0",
    "protocol_version": "0.4",
}


def line(kind: str, **fields: Any) -> bytes:
    return json.dumps({"type": kind, **ENVELOPE, **fields}).encode()


def nested(depth: int) -> bytes:
    """A summary whose data holds ``depth`` nested lists (about 2 bytes per level)."""
    head = json.dumps({"type": "summary", **ENVELOPE})[:-1]
    return f'{head}, "data": {{"deep": {"[" * depth}{"]" * depth}}}}}'.encode()


class Parts:
    def __init__(self, root: DataRoot, settings: Settings) -> None:
        self.ledger = Ledger(root, fsync_interval_s=0.05)
        self.ledger.open()
        self.diagnostics = Diagnostics(root)
        self.router = MessageRouter(self.ledger, self.diagnostics, LoopClock())
        self.rt = InstanceRuntime(
            "inst",
            InstanceConfig(plugin_id="agent_template", instance_label="inst"),
            builtin_templates()["agent_template"],
            settings,
            tracker=RestartTracker(RestartPolicy()),
            clock=LoopClock(),
            on_change=lambda rt, detail: None,
        )
        handshake = asyncio.get_running_loop().create_future()
        handshake.set_result(None)
        self.rt.handshake = handshake


async def test_deep_nesting_is_a_counted_rejection_not_a_dead_runner(data_root: DataRoot) -> None:
    parts = Parts(data_root, Settings(max_line_bytes=1024 * 1024))
    for depth in (1000, 100_000):
        parts.router.on_line(parts.rt, nested(depth))
    assert parts.rt.rejected_lines["undecodable"] == 2
    assert parts.ledger.pending_count == 0
    parts.router.on_line(parts.rt, line("summary", data={"ok": True}))
    assert parts.rt.summaries == 1
    records = parts.diagnostics.tail(10, instance_id="inst")
    assert [r["reason"] for r in records if r["kind"] == "rejected_line"] == ["undecodable"] * 2


async def test_an_ack_flood_is_budgeted_and_every_drop_counted(data_root: DataRoot) -> None:
    parts = Parts(data_root, Settings(rate_limit_per_s=0.001, rate_limit_burst=10))
    for _ in range(10_000):
        parts.router.on_line(parts.rt, line("ack", ack_command="flush"))
    acks = [r for r in parts.diagnostics.tail(1000) if r["kind"] == "ack"]
    assert len(acks) == 10
    assert parts.rt.budget.drops["ack"] == 9_990
    parts.router.report_drops(parts.rt, final=True)
    (report,) = [r for r in parts.diagnostics.tail(1000) if r["kind"] == "drops"]
    assert report["counts"] == {"ack": 9_990} and report["total"] == 9_990


async def test_an_ack_that_was_asked_for_is_never_dropped(data_root: DataRoot) -> None:
    parts = Parts(data_root, Settings(rate_limit_per_s=0.001, rate_limit_burst=1))
    parts.router.on_line(parts.rt, line("log", level="info", message="spends the only token"))
    fut: asyncio.Future[AckMessage] = asyncio.get_running_loop().create_future()
    parts.rt.ack_waiters["shutdown"] = [fut]
    parts.router.on_line(parts.rt, line("ack", ack_command="shutdown"))
    assert fut.done() and fut.result().ack_command == "shutdown"
    assert parts.rt.budget.drops["ack"] == 0


async def test_drops_records_survive_a_full_diagnostics_queue(data_root: DataRoot) -> None:
    parts = Parts(data_root, Settings(rate_limit_per_s=0.001, rate_limit_burst=1))
    parts.diagnostics.max_pending = 0  # the queue is full: everything ordinary is dropped
    for _ in range(100):
        parts.router.on_line(parts.rt, line("log", level="info", message="x"))
    parts.router.report_drops(parts.rt, final=True)
    (report,) = [r for r in parts.diagnostics.tail(1000) if r["kind"] == "drops"]
    # one log line passed the agent's budget and was then dropped by the full queue:
    # between the two counters, all 100 are accounted for
    assert report["counts"] == {"log": 99}
    assert parts.diagnostics.dropped_total == 1


async def test_huge_heartbeat_metrics_are_capped_in_state(data_root: DataRoot) -> None:
    parts = Parts(data_root, Settings())
    metrics = {"queue": 1, "blob": "z" * 200 * 1024}
    parts.router.on_line(parts.rt, line("heartbeat", metrics=metrics))
    assert parts.rt.metrics == {"queue": 1, TRUNCATED_KEY: True}
    assert parts.rt.snapshot().metrics == parts.rt.metrics
