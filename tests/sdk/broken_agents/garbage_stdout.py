"""Broken: a stray print lands on stdout between protocol lines."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class GarbageStdout(MiniAgent):
    garbage_after_handshake = "hello from a debug print"


GarbageStdout().run()
