"""The agents family over the real socket: runtime states and the lifecycle, one or all."""

from __future__ import annotations

import pytest

from operations.harness import ledger_records

from ._ops import Ops

pytestmark = pytest.mark.anyio


async def test_states(ops: Ops) -> None:
    agents = (await ops.ask("get_agent_states"))["agents"]
    assert agents[0]["instance_id"] == "example-a"
    assert agents[0]["state"] == "running"
    assert agents[0]["pid"] > 0


async def test_lifecycle_commands_answer_the_state_afterwards(ops: Ops) -> None:
    flushed = await ops.ask("flush_agent", instance_id="example-a")
    assert flushed["instance_id"] == "example-a"
    assert flushed["state"]["state"] == "running"
    await ops.harness.until(lambda: ops.harness.supervisor.state("example-a").summaries >= 1)
    stopped = await ops.ask("stop_agent", instance_id="example-a")
    assert stopped == {"instance_id": "example-a", "state": stopped["state"]}  # no `result`
    assert stopped["state"]["state"] == "stopped"
    assert (await ops.refused("flush_agent", instance_id="example-a")).code == "agent_not_running"
    started = await ops.ask("start_agent", instance_id="example-a")
    assert started["state"]["state"] == "running"
    first_pid = started["state"]["pid"]
    restarted = await ops.ask("restart_agent", instance_id="example-a")
    assert set(restarted) == {"instance_id", "state"}
    assert restarted["state"]["pid"] != first_pid
    assert (await ops.refused("start_agent", instance_id="ghost")).code == "unknown_instance"
    missing = await ops.refused("stop_agent")
    assert (missing.code, missing.field) == ("invalid_field", "instance_id")
    assert len(ledger_records(ops.data_root)) >= 1


async def test_start_and_stop_all_agents(ops: Ops) -> None:
    await ops.ask("add_agent_instance", plugin_id="agent_example", instance_label="B")
    stopped = await ops.ask("stop_all_agents")
    assert {a["state"] for a in stopped["agents"]} == {"stopped"}
    assert (stopped["total"], stopped["next_offset"]) == (2, None)
    started = await ops.ask("start_all_agents")
    assert {a["state"] for a in started["agents"]} == {"running"}


async def test_the_old_names_of_start_and_stop_all_still_work(ops: Ops) -> None:
    stopped = await ops.client.request_response("stop_monitors")
    assert stopped.cmd == "stop_monitors"  # the name the client sent is echoed
    assert {a["state"] for a in stopped.data["agents"]} == {"stopped"}
    started = await ops.ask("start_monitors")
    assert {a["state"] for a in started["agents"]} == {"running"}
    hello = await ops.ask("hello")
    assert {"start_all_agents", "stop_all_agents", "start_monitors", "stop_monitors"} <= set(
        hello["commands"]
    )
