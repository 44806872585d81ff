"""The runtime family: ping, status, shutdown and the diagnostics tail (its selection pure)."""

from __future__ import annotations

from typing import Any

import pytest

from mimolo.ipc.server.handlers.runtime import DiagnosticsTailParams, agent_counts, select_tail

from ._ops import Ops


@pytest.mark.anyio
async def test_runtime_commands(ops: Ops) -> None:
    assert (await ops.ask("ping"))["pong"] is True
    status = await ops.ask("get_status")
    assert status["agents"] == {"total": 1, "by_state": {"running": 1}}
    assert status["data_dir"] == str(ops.data_root.root)
    tail = await ops.ask("get_diagnostics_tail", limit=5)
    assert 0 < tail["count"] <= 5
    only = await ops.ask("get_diagnostics_tail", instance_id="example-a", kind="lifecycle")
    assert all(r["instance_id"] == "example-a" for r in only["records"])
    assert all(r["kind"] == "lifecycle" for r in only["records"])
    errors = await ops.ask("get_diagnostics_tail", level="error")
    assert all(r.get("level") == "error" or r["kind"] == "error" for r in errors["records"])
    bad = await ops.refused("get_diagnostics_tail", limit=0)
    assert (bad.code, bad.field) == ("invalid_field", "limit")
    bad = await ops.refused("get_diagnostics_tail", level="loud")
    assert (bad.code, bad.field) == ("invalid_field", "level")
    assert (await ops.ask("shutdown_operations")) == {"shutting_down": True}
    assert ops.shutdown.is_set()


def _records() -> list[dict[str, Any]]:
    return [
        {"ts": "1", "kind": "heartbeat", "instance_id": "a"},
        {"ts": "2", "kind": "log", "instance_id": "b", "level": "debug"},
        {"ts": "3", "kind": "error", "instance_id": "a"},
        {"ts": "4", "kind": "status", "instance_id": "b", "level": "warning"},
        {"ts": "5", "kind": "audit", "action": "add_agent_instance"},
    ]


def test_select_tail_filters_and_keeps_order() -> None:
    records = _records()
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=10))
    assert [r["ts"] for r in chosen] == ["1", "2", "3", "4", "5"] and not truncated
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=2))
    assert [r["ts"] for r in chosen] == ["4", "5"] and truncated
    chosen, _ = select_tail(records, DiagnosticsTailParams(instance_id="a"))
    assert [r["ts"] for r in chosen] == ["1", "3"]
    chosen, _ = select_tail(records, DiagnosticsTailParams(level="warning"))
    assert [r["ts"] for r in chosen] == ["3", "4"]  # kind error counts as level error
    chosen, _ = select_tail(records, DiagnosticsTailParams(kind="audit"))
    assert [r["ts"] for r in chosen] == ["5"]


def test_select_tail_respects_the_byte_budget() -> None:
    records = [{"ts": str(i), "kind": "log", "message": "m" * 1000} for i in range(100)]
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=100), budget=10_000)
    assert truncated
    assert 0 < len(chosen) < 10
    assert chosen[-1]["ts"] == "99"


def test_agent_counts() -> None:
    states = [{"state": "running"}, {"state": "running"}, {"state": "stopped"}]
    assert agent_counts(states) == {"running": 2, "stopped": 1}
