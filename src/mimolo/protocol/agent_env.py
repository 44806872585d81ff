"""The environment Operations gives every agent process (DESIGN §3): names and builder.

``agent_environment`` is the one builder: Operations' supervisor starts agents with it and
the agent driver (``mimolo agent check``, ``mimolo.testing``) reproduces it. Pure: the
caller passes the instance's facts and the parent environment. Agents never receive the
control socket's path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import msgspec

AGENT_LABEL: Final = "MIMOLO_AGENT_LABEL"
AGENT_ID: Final = "MIMOLO_AGENT_ID"  # equals the instance_id
INSTANCE_ID: Final = "MIMOLO_INSTANCE_ID"
PLUGIN_ID: Final = "MIMOLO_PLUGIN_ID"
DATA_DIR: Final = "MIMOLO_DATA_DIR"
INSTANCE_DIR: Final = "MIMOLO_INSTANCE_DIR"
AGENT_CONFIG: Final = "MIMOLO_AGENT_CONFIG"  # JSON object: the instance's validated params
HEARTBEAT_INTERVAL_S: Final = "MIMOLO_HEARTBEAT_INTERVAL_S"
CPU_BUDGET_PERCENT: Final = "MIMOLO_CPU_BUDGET_PERCENT"

ALL: Final = (
    AGENT_LABEL,
    AGENT_ID,
    INSTANCE_ID,
    PLUGIN_ID,
    DATA_DIR,
    INSTANCE_DIR,
    AGENT_CONFIG,
    HEARTBEAT_INTERVAL_S,
    CPU_BUDGET_PERCENT,
)


class SpawnFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an agent's environment is made of."""

    instance_id: str
    instance_label: str
    plugin_id: str
    data_dir: str
    instance_dir: str
    params: Mapping[str, Any]
    heartbeat_interval_s: float
    cpu_budget_percent: float | None = None  # None: no budget is announced


def agent_environment(facts: SpawnFacts, parent: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without any MIMOLO_* variable, plus the agent's own."""
    env = {k: v for k, v in parent.items() if not k.startswith("MIMOLO_")}
    env.update(
        {
            AGENT_LABEL: facts.instance_label,
            AGENT_ID: facts.instance_id,
            INSTANCE_ID: facts.instance_id,
            PLUGIN_ID: facts.plugin_id,
            DATA_DIR: facts.data_dir,
            INSTANCE_DIR: facts.instance_dir,
            AGENT_CONFIG: json.dumps(dict(facts.params), sort_keys=True),
            HEARTBEAT_INTERVAL_S: repr(float(facts.heartbeat_interval_s)),
        }
    )
    if facts.cpu_budget_percent is not None:
        env[CPU_BUDGET_PERCENT] = repr(float(facts.cpu_budget_percent))
    return env
