"""Broken: never sends a heartbeat."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class NeverHeartbeats(MiniAgent):
    heartbeats = False


NeverHeartbeats().run()
