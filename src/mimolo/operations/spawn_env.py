"""What an agent process is started with: its command and environment (DESIGN §3).

Pure: the caller passes the instance's facts and the parent environment. The signature of
a spawn (command + environment) tells a config change that needs a restart from one that
does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from mimolo.protocol import agent_env


class SpawnFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an agent's environment is made of."""

    instance_id: str
    instance_label: str
    plugin_id: str
    data_dir: str
    instance_dir: str
    params: Mapping[str, Any]
    heartbeat_interval_s: float
    cpu_budget_percent: float


def agent_environment(facts: SpawnFacts, parent: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without any MIMOLO_* variable, plus the agent's own."""
    env = {k: v for k, v in parent.items() if not k.startswith("MIMOLO_")}
    env.update(
        {
            agent_env.AGENT_LABEL: facts.instance_label,
            agent_env.AGENT_ID: facts.instance_id,
            agent_env.INSTANCE_ID: facts.instance_id,
            agent_env.PLUGIN_ID: facts.plugin_id,
            agent_env.DATA_DIR: facts.data_dir,
            agent_env.INSTANCE_DIR: facts.instance_dir,
            agent_env.AGENT_CONFIG: json.dumps(dict(facts.params), sort_keys=True),
            agent_env.HEARTBEAT_INTERVAL_S: repr(facts.heartbeat_interval_s),
            agent_env.CPU_BUDGET_PERCENT: repr(facts.cpu_budget_percent),
        }
    )
    return env


def spawn_signature(argv: Sequence[str], facts: SpawnFacts) -> str:
    """Equal for two spawns exactly when command and agent environment are equal."""
    return json.dumps([list(argv), msgspec.to_builtins(facts)], sort_keys=True)


__all__ = ["SpawnFacts", "agent_environment", "spawn_signature"]
