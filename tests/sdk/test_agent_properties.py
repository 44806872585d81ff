"""Property tests: any interleaving of time and commands keeps the SDK's promises."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.protocol import (
    AckMessage,
    FlushCommand,
    HeartbeatMessage,
    SequenceCommand,
    ShutdownCommand,
    StartCommand,
    StatusCommand,
    StopCommand,
    SummaryMessage,
    WidgetActionCommand,
)
from mimolo.protocol.commands import AgentCommand
from mimolo.sdk import BaseAgent, activity_signal
from mimolo.testing import AgentHarness


class Tally(BaseAgent):
    plugin_id = "tally"
    sample_interval_s = 0.7

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending = 0
        self.total_sampled = 0

    def accumulate(self, now: datetime) -> None:
        self.pending += 1
        self.total_sampled += 1

    def snapshot(self, now: datetime) -> int:
        taken, self.pending = self.pending, 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        return {"n": snapshot, "activity_signal": activity_signal("active", snapshot > 0)}


commands = st.sampled_from(
    [
        FlushCommand(),
        StopCommand(),
        StartCommand(),
        StatusCommand(),
        WidgetActionCommand(args={"request_id": "r", "action": "refresh"}),
        SequenceCommand(sequence=["stop", "flush"]),
        SequenceCommand(sequence=["start", "status"]),
    ]
)
steps = st.lists(
    st.one_of(st.floats(0.0, 40.0).map(lambda s: ("advance", s)), commands.map(lambda c: c)),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from([1.0, 5.0, 15.0]))
def test_windows_tile_time_and_nothing_is_lost(steps: list[Any], heartbeat: float) -> None:
    h = AgentHarness.create(Tally, heartbeat_interval_s=heartbeat)
    elapsed = 0.0
    for step in steps:
        if isinstance(step, tuple):
            h.advance(step[1])
            elapsed += step[1]
        else:
            command: AgentCommand = step
            out = h.send(command)
            if isinstance(command, FlushCommand):
                assert isinstance(out[0], SummaryMessage)
                assert isinstance(out[-1], AckMessage) and out[-1].ack_command == "flush"
    h.send(ShutdownCommand())
    summaries = [m for m in h.sent if isinstance(m, SummaryMessage)]
    # Windows are contiguous: each starts where the previous ended.
    for before, after in itertools.pairwise(summaries):
        assert before.data["window"]["end"] == after.data["window"]["start"]
    agent = h.agent
    assert isinstance(agent, Tally)
    # Every sample taken is in exactly one summary or still pending.
    assert sum(s.data["n"] for s in summaries) + agent.pending == agent.total_sampled
    # Heartbeats never stop, whatever the sampling state.
    beats = sum(isinstance(m, HeartbeatMessage) for m in h.sent)
    assert beats >= int(elapsed // heartbeat) - 1
    assert agent.exiting
