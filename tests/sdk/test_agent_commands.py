"""BaseAgent's command dispatch and stop sequence (agent_commands), on a virtual clock."""

from __future__ import annotations

import pytest

from mimolo.protocol import (
    AckMessage,
    ErrorMessage,
    FlushCommand,
    LogMessage,
    SequenceCommand,
    ShutdownCommand,
    StatusCommand,
    StatusMessage,
)
from mimolo.testing import AgentHarness

from ._counter import kinds


def test_sequence_runs_in_order_and_exits(harness: AgentHarness) -> None:
    harness.advance(2)
    out = harness.send(SequenceCommand(sequence=["stop", "flush", "shutdown"], id="s-9"))
    assert kinds(out) == ["ack stop", "summary", "ack flush", "ack shutdown"]
    assert all(m.data.get("command_id") == "s-9" for m in out if isinstance(m, AckMessage))
    assert harness.agent.exiting and harness.agent.exit_code == 0
    assert harness.agent.events == ["stop", "shutdown"]  # type: ignore[attr-defined]


def test_status_answers_with_health(harness: AgentHarness) -> None:
    (status,) = harness.send(StatusCommand())
    assert isinstance(status, StatusMessage)
    assert status.health == "ok" and status.data == {"sampling": True}
    harness.agent.set_health("degraded", "disk slow")
    last = harness.sent[-1]
    assert isinstance(last, StatusMessage)
    assert (last.health, last.message) == ("degraded", "disk slow")


def test_shutdown_acks_and_exits(harness: AgentHarness) -> None:
    assert kinds(harness.send(ShutdownCommand(id="x"))) == ["ack shutdown"]
    assert harness.agent.exiting


def test_eof_keeps_a_summary_in_progress(harness: AgentHarness) -> None:
    harness.advance(1.5)
    before = len(harness.sent)
    harness.agent.handle_eof()
    assert kinds(harness.sent[before:]) == ["summary"]
    assert harness.agent.exiting


def test_eof_without_pending_samples_sends_nothing(harness: AgentHarness) -> None:
    harness.send(FlushCommand())
    before = len(harness.sent)
    harness.agent.handle_eof()
    assert harness.sent[before:] == []


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'{"cmd": "dance"}', "unknown_type"),
        (b'{"cmd": "sequence"}', "missing_field"),
        (b'{"cmd": "sequence", "sequence": ["jump"]}', "invalid_value"),
        (b'{"cmd": "flush", "args": 3}', "wrong_type"),
        (b'{"cmd": "flush", "id": "\xc3\x28"}', "invalid_utf8"),
    ],
)
def test_bad_command_lines_are_reported_and_survived(
    harness: AgentHarness, line: bytes, reason: str
) -> None:
    before = len(harness.sent)
    harness.agent.handle_line(line)
    (error,) = harness.sent[before:]
    assert isinstance(error, ErrorMessage)
    assert error.data["reason"] == reason
    assert not harness.agent.exiting
    assert kinds(harness.send(FlushCommand())) == ["summary", "ack flush"]


def test_oversized_command_is_reported(harness: AgentHarness) -> None:
    harness.agent.handle_line(None)
    assert isinstance(harness.sent[-1], ErrorMessage)
    assert harness.sent[-1].data["reason"] == "oversized"


def test_reject_stops_the_agent(harness: AgentHarness) -> None:
    out = harness.send({"cmd": "reject", "reason": "protocol_version_mismatch"})
    assert isinstance(out[0], LogMessage) and "protocol_version_mismatch" in out[0].message
    assert harness.agent.exiting


def test_an_unaccepted_handshake_ack_stops_the_agent(harness: AgentHarness) -> None:
    out = harness.send(
        {"cmd": "ack", "accepted": False, "app_version": "9", "protocol_version": "0.4"}
    )
    assert isinstance(out[0], LogMessage) and harness.agent.exiting


def test_an_accepted_handshake_ack_is_silent(harness: AgentHarness) -> None:
    assert harness.send({"cmd": "ack", "app_version": "0.1.0", "protocol_version": "0.4"}) == []
    assert not harness.agent.exiting
