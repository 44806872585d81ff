"""Broken: starts with a heartbeat and never sends a handshake."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class NoHandshake(MiniAgent):
    handshake = False

    def run(self) -> None:
        self.emit("heartbeat", metrics={})
        super().run()


NoHandshake().run()
