"""BaseAgent's protocol behaviour, driven in process on a virtual clock (no sleeping)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import msgspec
import pytest

from mimolo import PROTOCOL_VERSION
from mimolo.protocol import (
    AckMessage,
    ErrorMessage,
    FlushCommand,
    HandshakeMessage,
    HeartbeatMessage,
    LogMessage,
    SequenceCommand,
    ShutdownCommand,
    StartCommand,
    StatusCommand,
    StatusMessage,
    StopCommand,
    SummaryMessage,
    WidgetActionCommand,
    WidgetFrameMessage,
    WidgetRenderCommand,
)
from mimolo.protocol.messages import HEARTBEAT_METRIC_KEYS, AgentMessage
from mimolo.sdk import BaseAgent, WidgetRequest, activity_signal
from mimolo.testing import AgentHarness, message_type


class Counter(BaseAgent):
    """Counts samples; active while anything was counted."""

    plugin_id: ClassVar[str] = "counter"
    sample_interval_s: ClassVar[float | None] = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = 0
        self.events: list[str] = []

    def accumulate(self, now: datetime) -> None:
        self.count += 1

    def snapshot(self, now: datetime) -> int:
        taken, self.count = self.count, 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        return {"count": snapshot, "activity_signal": activity_signal("active", snapshot > 0)}

    def on_stop_sampling(self) -> None:
        self.events.append("stop")

    def on_resume_sampling(self) -> None:
        self.events.append("start")

    def on_shutdown(self) -> None:
        self.events.append("shutdown")


class Widgety(Counter):
    def render_widget(self, request: WidgetRequest) -> str:
        return f"<p>{self.count} for {request.request_id} at {request.width}</p>"


def kinds(messages: list[AgentMessage]) -> list[str]:
    out = []
    for m in messages:
        kind = message_type(m)
        out.append(f"ack {m.ack_command}" if isinstance(m, AckMessage) else kind)
    return out


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> AgentHarness:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "15")
    monkeypatch.setenv("MIMOLO_AGENT_ID", "counter-1")
    monkeypatch.setenv("MIMOLO_AGENT_LABEL", "Counter one")
    return AgentHarness.create(Counter)


def test_handshake_is_first_and_carries_identity(harness: AgentHarness) -> None:
    first = harness.sent[0]
    assert isinstance(first, HandshakeMessage)
    assert first.protocol_version == PROTOCOL_VERSION
    assert (first.agent_id, first.agent_label) == ("counter-1", "Counter one")
    assert "heartbeat" in first.capabilities and "widget" not in first.capabilities
    assert first.data["widget_manifest"] is None
    assert len(harness.sent) == 1


def test_heartbeats_follow_the_interval_with_all_metrics(harness: AgentHarness) -> None:
    assert kinds(harness.advance(14.9)) == []
    beats = [m for m in harness.advance(0.2) if isinstance(m, HeartbeatMessage)]
    assert len(beats) == 1
    metrics = beats[0].metrics
    assert isinstance(metrics, dict)
    assert set(HEARTBEAT_METRIC_KEYS) <= set(metrics)
    assert metrics["cpu_budget_percent"] == 2.0
    later = harness.advance(45)
    assert sum(isinstance(m, HeartbeatMessage) for m in later) == 3


def test_samples_only_while_sampling_and_flush_reports_them(harness: AgentHarness) -> None:
    harness.advance(5.5)
    assert harness.agent.count == 5  # type: ignore[attr-defined]
    out = harness.send(FlushCommand(id="f-1"))
    assert kinds(out) == ["summary", "ack flush"]
    summary, ack = out
    assert isinstance(summary, SummaryMessage) and isinstance(ack, AckMessage)
    assert summary.data["count"] == 5
    assert summary.data["activity_signal"] == {"mode": "active", "keep_alive": True, "reason": None}
    window = summary.data["window"]
    start, end = datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
    assert end - start == timedelta(seconds=5.5)
    assert ack.data == {"command_id": "f-1"}
    assert kinds(harness.send(StopCommand())) == ["ack stop"]
    harness.advance(10)
    assert harness.agent.count == 0  # type: ignore[attr-defined]
    assert kinds(harness.send(StartCommand())) == []  # start has no ACK
    harness.advance(2.5)
    assert harness.agent.count == 2  # type: ignore[attr-defined]
    assert harness.agent.events == ["stop", "start"]  # type: ignore[attr-defined]


def test_next_window_starts_where_the_last_ended(harness: AgentHarness) -> None:
    harness.advance(3)
    first = harness.send(FlushCommand())[0]
    harness.advance(4)
    second = harness.send(FlushCommand())[0]
    assert isinstance(first, SummaryMessage) and isinstance(second, SummaryMessage)
    assert first.data["window"]["end"] == second.data["window"]["start"]


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


def test_widget_render_unsupported_answers_an_error(harness: AgentHarness) -> None:
    (error,) = harness.send(WidgetRenderCommand(args={"request_id": "r1"}))
    assert isinstance(error, ErrorMessage)
    assert error.message == "widget_not_supported"
    assert error.data == {"request_id": "r1"}


def test_widget_render_and_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "15")
    h = AgentHarness.create(Widgety)
    handshake = h.sent[0]
    assert isinstance(handshake, HandshakeMessage)
    assert "widget" in handshake.capabilities
    assert handshake.data["widget_manifest"]["supported_actions"] == ["refresh"]
    h.advance(3)
    (frame,) = h.send(WidgetRenderCommand(args={"request_id": "r2", "width": 320}))
    assert isinstance(frame, WidgetFrameMessage)
    assert frame.data.request_id == "r2" and frame.data.mode == "html_fragment_v1"
    assert frame.data.html == "<p>3 for r2 at 320</p>"
    assert frame.data.ttl_ms == 5000 and frame.data.state_token
    out = h.send(WidgetActionCommand(args={"request_id": "r3", "action": "refresh"}, id="c"))
    assert kinds(out) == ["summary", "ack widget_action"]
    assert out[1].data == {"request_id": "r3", "command_id": "c"}
    (error,) = h.send(WidgetActionCommand(args={"request_id": "r4", "action": "explode"}))
    assert isinstance(error, ErrorMessage)
    assert error.data["code"] == "unsupported_action" and error.data["request_id"] == "r4"
    (missing,) = h.send(WidgetActionCommand(args={"request_id": "r5"}))
    assert isinstance(missing, ErrorMessage) and missing.data["code"] == "invalid_action"


class Faulty(Counter):
    def accumulate(self, now: datetime) -> None:
        raise RuntimeError("sensor unplugged")

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        raise ValueError("bad math")

    def render_widget(self, request: WidgetRequest) -> str:
        raise KeyError("nope")


def test_hook_failures_are_reported_rate_limited_and_survived(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "1000")
    h = AgentHarness.create(Faulty)
    out = h.advance(30)
    errors = [m for m in out if isinstance(m, ErrorMessage)]
    assert len(errors) == 1 and "sensor unplugged" in errors[0].message
    assert len([m for m in h.advance(61) if isinstance(m, ErrorMessage)]) == 1
    out = h.send(FlushCommand())
    assert kinds(out) == ["error", "summary", "ack flush"]
    summary = out[1]
    assert isinstance(summary, SummaryMessage)
    assert summary.data["error"] == "summarize_failed"
    assert summary.data["activity_signal"]["mode"] == "passive"
    (err,) = h.send(WidgetRenderCommand(args={"request_id": "w"}))[-1:]
    assert isinstance(err, ErrorMessage) and err.message == "widget_render_failed"


class Quiet(BaseAgent):
    sample_interval_s: ClassVar[float | None] = None


def test_event_driven_agent_gets_passive_summary_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", "10")
    h = AgentHarness.create(Quiet)
    assert kinds(h.advance(25)) == ["heartbeat", "heartbeat"]
    summary, _ = h.send(FlushCommand())
    assert isinstance(summary, SummaryMessage)
    assert summary.data["activity_signal"] == {
        "mode": "passive",
        "keep_alive": None,
        "reason": None,
    }


def test_reject_stops_the_agent(harness: AgentHarness) -> None:
    out = harness.send({"cmd": "reject", "reason": "protocol_version_mismatch"})
    assert isinstance(out[0], LogMessage) and "protocol_version_mismatch" in out[0].message
    assert harness.agent.exiting


def test_log_helper_and_logging_handler(harness: AgentHarness) -> None:
    import logging

    from mimolo.sdk import ProtocolLogHandler

    harness.agent.log("info", "hello", path="a/b")
    msg = harness.sent[-1]
    assert isinstance(msg, LogMessage) and msg.extra == {"path": "a/b"}
    logger = logging.getLogger("test_agent_core.forwarded")
    handler = ProtocolLogHandler(harness.agent)
    logger.addHandler(handler)
    try:
        logger.warning("disk %s", "full")
    finally:
        logger.removeHandler(handler)
    fwd = harness.sent[-1]
    assert isinstance(fwd, LogMessage)
    assert (fwd.level, fwd.message) == ("warning", "disk full")


def test_every_message_encodes_as_valid_protocol(harness: AgentHarness) -> None:
    from mimolo.protocol import decode_message, encode_message

    harness.advance(40)
    harness.send(SequenceCommand(sequence=["stop", "flush", "shutdown"]))
    for message in harness.sent:
        line = encode_message(message)
        assert decode_message(line) == message
        assert msgspec.json.decode(line)["protocol_version"] == PROTOCOL_VERSION


@pytest.mark.parametrize("value", ["abc", "-1", "0", "inf"])
def test_bad_heartbeat_interval_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from mimolo.errors import ConfigError

    monkeypatch.setenv("MIMOLO_HEARTBEAT_INTERVAL_S", value)
    with pytest.raises(ConfigError) as info:
        Counter({})
    assert info.value.field == "MIMOLO_HEARTBEAT_INTERVAL_S"


def test_an_unaccepted_handshake_ack_stops_the_agent(harness: AgentHarness) -> None:
    out = harness.send(
        {"cmd": "ack", "accepted": False, "app_version": "9", "protocol_version": "0.4"}
    )
    assert isinstance(out[0], LogMessage) and harness.agent.exiting


def test_an_accepted_handshake_ack_is_silent(harness: AgentHarness) -> None:
    assert harness.send({"cmd": "ack", "app_version": "0.1.0", "protocol_version": "0.4"}) == []
    assert not harness.agent.exiting
