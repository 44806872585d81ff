"""Broken: ignores the shutdown command (and keeps running until killed)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class IgnoresShutdown(MiniAgent):
    obey_shutdown = False


IgnoresShutdown().run()
