"""Environment variables Operations sets for every agent process (DESIGN §3).

Agents never receive the control socket's path.
"""

from __future__ import annotations

from typing import Final

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
