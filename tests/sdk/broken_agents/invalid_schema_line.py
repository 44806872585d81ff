"""Broken: sends a status whose health is not one of ok|degraded|overload|failed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class InvalidSchemaLine(MiniAgent):
    invalid_line_after_handshake = {
        "type": "status",
        "timestamp": "2026-01-05T09:00:00+00:00",
        "agent_id": "mini",
        "agent_label": "mini",
        "agent_version": "0.0.1",
        "health": "great",
    }


InvalidSchemaLine().run()
