"""The off-the-record pause in the SDK (agent_capture): ACKs, hooks, expiry, paused_s."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mimolo.protocol import (
    AckCommand,
    AckMessage,
    ErrorMessage,
    HandshakeMessage,
    LogMessage,
    PauseCaptureCommand,
    ResumeCaptureCommand,
    SummaryMessage,
)
from mimolo.protocol.messages import AgentMessage
from mimolo.sdk.clock import iso
from mimolo.testing import AgentDriver, AgentHarness, agent_environment, is_ack, is_type

from ._counter import kinds
from .capture_agent import CaptureAgent

SCRIPT = Path(__file__).with_name("capture_agent.py")
WAIT = 30.0


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> AgentHarness:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "15")
    return AgentHarness.create(CaptureAgent)


def _summary(h: AgentHarness) -> dict[str, Any]:
    h.agent.emit_summary_now()
    last = h.sent[-1]
    assert isinstance(last, SummaryMessage)
    return last.data


def _ack(out: list[AgentMessage], name: str) -> AckMessage:
    (ack,) = [m for m in out if isinstance(m, AckMessage) and m.ack_command == name]
    return ack


def _paused(agent: Any) -> bool:
    """Read the property afresh (mypy would narrow ``agent.capture_paused`` across calls)."""
    return bool(agent.capture_paused)


def _events(agent: Any) -> list[str]:
    events: list[str] = agent.events
    return events


def test_captures_advertises_capture_pause(capture: AgentHarness, harness: AgentHarness) -> None:
    (hello,) = [m for m in capture.sent if isinstance(m, HandshakeMessage)]
    assert "capture_pause" in hello.capabilities
    (plain,) = [m for m in harness.sent if isinstance(m, HandshakeMessage)]
    assert "capture_pause" not in plain.capabilities


def test_pause_until_resumed_and_resume(capture: AgentHarness) -> None:
    agent = capture.agent
    capture.advance(10)
    before = _summary(capture)
    assert before["paused_s"] == 0.0 and before["captured"] == 20
    ack = _ack(capture.send(PauseCaptureCommand(args={"until": None}, id="p1")), "pause_capture")
    assert ack.data == {"paused": True, "until": None, "command_id": "p1"}
    assert agent.capture_paused and _events(agent) == ["paused"]
    capture.advance(30)
    during = _summary(capture)
    assert during["paused_s"] == 30.0 and during["captured"] == 0
    capture.advance(5)
    ack = _ack(capture.send(ResumeCaptureCommand(id="r1")), "resume_capture")
    assert ack.data == {"paused": False, "until": None, "command_id": "r1"}
    assert not _paused(agent) and _events(agent) == ["paused", "resumed"]
    capture.advance(5)
    after = _summary(capture)
    assert after["paused_s"] == 5.0 and after["captured"] == 10


def test_a_pause_with_until_ends_by_itself_on_the_agents_clock(capture: AgentHarness) -> None:
    agent = capture.agent
    until = capture.clock.now() + timedelta(seconds=60)
    ack = _ack(capture.send(PauseCaptureCommand(args={"until": iso(until)})), "pause_capture")
    assert ack.data == {"paused": True, "until": iso(until)}
    assert agent.capture_paused_until == until
    out = capture.advance(59.9)
    assert agent.capture_paused and not [m for m in out if isinstance(m, LogMessage)]
    out = capture.advance(20)
    logs = [m.message for m in out if isinstance(m, LogMessage)]
    assert logs[:2] == ["capture pause expired", "capture resumed"]
    assert not _paused(agent) and _events(agent) == ["paused", "resumed"]
    data = _summary(capture)
    assert data["paused_s"] == 60.0  # ends exactly at until, not when it was noticed
    assert data["captured"] == 40


def test_the_main_loop_wakes_for_the_expiry(capture: AgentHarness) -> None:
    agent = capture.agent
    agent.sampling = False  # only the heartbeat (15 s) and the expiry are deadlines
    agent._next_sample = None
    until = capture.clock.now() + timedelta(seconds=3)
    capture.send(PauseCaptureCommand(args={"until": iso(until)}))
    assert agent.run_due() == pytest.approx(3.0)


def test_moving_until_calls_the_hook_again_and_a_repeat_does_not(capture: AgentHarness) -> None:
    agent = capture.agent
    first = iso(capture.clock.now() + timedelta(minutes=5))
    capture.send(PauseCaptureCommand(args={"until": first}))
    capture.send(PauseCaptureCommand(args={"until": first}))
    assert _events(agent) == ["paused"]
    ack = _ack(capture.send(PauseCaptureCommand(args={"until": None})), "pause_capture")
    assert ack.data["until"] is None and _events(agent) == ["paused", "paused"]
    capture.advance(600)
    assert agent.capture_paused


def test_resume_without_a_pause_is_acknowledged_and_changes_nothing(
    capture: AgentHarness,
) -> None:
    ack = _ack(capture.send(ResumeCaptureCommand()), "resume_capture")
    assert ack.data == {"paused": False, "until": None}
    assert _events(capture.agent) == []


def test_an_until_already_past_pauses_nothing(capture: AgentHarness) -> None:
    past = iso(capture.clock.now() - timedelta(seconds=1))
    ack = _ack(capture.send(PauseCaptureCommand(args={"until": past})), "pause_capture")
    assert ack.data == {"paused": False, "until": None}
    assert not capture.agent.capture_paused


@pytest.mark.parametrize("until", ["soon", 15, "2026-01-05T09:30:00"])
def test_an_unreadable_until_fails_closed(capture: AgentHarness, until: object) -> None:
    out = capture.send({"cmd": "pause_capture", "args": {"until": until}})
    (error,) = [m for m in out if isinstance(m, ErrorMessage)]
    assert error.data["reason"] == "bad_until" and "until" in error.message
    assert _ack(out, "pause_capture").data == {"paused": True, "until": None}
    assert capture.agent.capture_paused


def test_a_failing_hook_is_reported_and_the_command_still_acked(
    capture: AgentHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(until: object) -> None:
        raise RuntimeError("no")

    monkeypatch.setattr(capture.agent, "on_capture_paused", boom)
    out = capture.send(PauseCaptureCommand())
    assert kinds(out) == ["error", "ack pause_capture"]
    assert capture.agent.capture_paused


def test_agents_that_do_not_capture_get_no_paused_s(harness: AgentHarness) -> None:
    harness.advance(2)
    assert "paused_s" not in _summary(harness)


def test_a_real_agent_process_acks_and_expires(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    with AgentDriver([sys.executable, str(SCRIPT)], env=env) as driver:
        hello = driver.wait_for(is_type("handshake"), WAIT)
        assert hello is not None and isinstance(hello.message, HandshakeMessage)
        assert "capture_pause" in hello.message.capabilities
        driver.send(AckCommand(app_version="0.1.0", protocol_version="0.4"))
        mark = driver.mark()
        driver.send({"cmd": "pause_capture", "args": {"until": None}, "id": "a"})
        ack = driver.wait_for(is_ack("pause_capture"), WAIT, after=mark)
        assert ack is not None and isinstance(ack.message, AckMessage)
        assert ack.message.data == {"paused": True, "until": None, "command_id": "a"}
        # a short pause: the agent's own clock ends it, no command needed
        until = datetime.now(UTC) + timedelta(seconds=1)
        mark = driver.mark()
        driver.send(PauseCaptureCommand(args={"until": iso(until)}, id="b"))
        resumed = driver.wait_for(
            lambda ln: (
                isinstance(ln.message, LogMessage) and ln.message.message == "capture resumed"
            ),
            WAIT,
            after=mark,
        )
        assert resumed is not None
        driver.send(ResumeCaptureCommand(id="c"))
        ack = driver.wait_for(is_ack("resume_capture"), WAIT, after=mark)
        assert ack is not None and isinstance(ack.message, AckMessage)
        assert ack.message.data == {"paused": False, "until": None, "command_id": "c"}
        driver.close_stdin()
        assert driver.wait_exit(WAIT) == 0
