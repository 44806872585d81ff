"""Broken: inside a sequence, ACKs flush before sending the summary."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class WrongSequenceOrder(MiniAgent):
    ack_before_summary_in_sequence = True


WrongSequenceOrder().run()
