"""The one agent environment builder: what Operations and the agent driver both give an agent."""

from __future__ import annotations

import json

import msgspec

from mimolo.protocol import agent_env
from mimolo.protocol.agent_env import SpawnFacts, agent_environment

FACTS = SpawnFacts(
    instance_id="i-1",
    instance_label="Label",
    plugin_id="p",
    data_dir="/data",
    instance_dir="/data/agents/p/i-1",
    params={"b": [1, 2], "a": "x"},
    heartbeat_interval_s=15.0,
    cpu_budget_percent=2.5,
)


def test_every_name_is_set_from_the_facts() -> None:
    env = agent_environment(FACTS, {})
    assert env == {
        "MIMOLO_AGENT_LABEL": "Label",
        "MIMOLO_AGENT_ID": "i-1",
        "MIMOLO_INSTANCE_ID": "i-1",
        "MIMOLO_PLUGIN_ID": "p",
        "MIMOLO_DATA_DIR": "/data",
        "MIMOLO_INSTANCE_DIR": "/data/agents/p/i-1",
        "MIMOLO_AGENT_CONFIG": '{"a": "x", "b": [1, 2]}',
        "MIMOLO_HEARTBEAT_INTERVAL_S": "15.0",
        "MIMOLO_CPU_BUDGET_PERCENT": "2.5",
    }
    assert set(env) == set(agent_env.ALL)
    assert json.loads(env[agent_env.AGENT_CONFIG]) == FACTS.params


def test_the_parent_is_kept_without_its_mimolo_variables() -> None:
    parent = {"PATH": "/bin", "MIMOLO_SOCKET": "/run/ops.sock", "MIMOLO_PLUGIN_ID": "other"}
    env = agent_environment(FACTS, parent)
    assert env["PATH"] == "/bin"
    assert "MIMOLO_SOCKET" not in env  # never the control socket
    assert env["MIMOLO_PLUGIN_ID"] == "p"
    assert parent["MIMOLO_PLUGIN_ID"] == "other"  # the parent is not modified


def test_no_budget_means_no_budget_variable() -> None:
    facts = msgspec.structs.replace(FACTS, cpu_budget_percent=None)
    assert agent_env.CPU_BUDGET_PERCENT not in agent_environment(facts, {})


def test_numbers_are_written_as_floats() -> None:
    facts = msgspec.structs.replace(FACTS, heartbeat_interval_s=30, cpu_budget_percent=5)
    env = agent_environment(facts, {})
    assert env[agent_env.HEARTBEAT_INTERVAL_S] == "30.0"
    assert env[agent_env.CPU_BUDGET_PERCENT] == "5.0"
