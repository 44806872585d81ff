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
    SequenceCommand,
    StartCommand,
    StopCommand,
    SummaryMessage,
    WidgetRenderCommand,
)
from mimolo.protocol.messages import HEARTBEAT_METRIC_KEYS
from mimolo.sdk import BaseAgent, WidgetRequest
from mimolo.testing import AgentHarness

from ._counter import Counter, kinds


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
