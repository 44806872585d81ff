"""Codec round trips for every message type and command, and every rejection reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.errors import LineRejected
from mimolo.protocol import (
    COMMAND_NAMES,
    MESSAGE_TYPES,
    REJECT_REASONS,
    AckCommand,
    AckMessage,
    AgentCommand,
    AgentMessage,
    ErrorMessage,
    FlushCommand,
    HandshakeMessage,
    HeartbeatMessage,
    LogMessage,
    PauseCaptureCommand,
    RejectCommand,
    ResumeCaptureCommand,
    SequenceCommand,
    ShutdownCommand,
    StartCommand,
    StatusCommand,
    StatusMessage,
    StopCommand,
    SummaryMessage,
    WidgetActionCommand,
    WidgetFrameData,
    WidgetFrameMessage,
    WidgetRenderCommand,
    decode_command,
    decode_message,
    encode_command,
    encode_message,
)

texts = st.text(max_size=40)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    texts,
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
data_dicts = st.dictionaries(texts, json_values, max_size=5)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "timestamp": draw(moments),
        "agent_id": draw(texts),
        "agent_label": draw(texts),
        "agent_version": draw(texts),
        "protocol_version": draw(st.sampled_from(["0.3", "0.4"])),
        "data": draw(data_dicts),
    }


messages: st.SearchStrategy[AgentMessage] = st.one_of(
    st.builds(
        lambda e, caps: HandshakeMessage(**e, min_app_version="0.1.0", capabilities=caps),
        envelopes(),
        st.lists(texts, max_size=4),
    ),
    st.builds(lambda e: SummaryMessage(**e), envelopes()),
    st.builds(lambda e, m: HeartbeatMessage(**e, metrics=m), envelopes(), data_dicts),
    st.builds(
        lambda e, h, m: StatusMessage(**e, health=h, message=m),
        envelopes(),
        st.sampled_from(["ok", "degraded", "overload", "failed"]),
        texts,
    ),
    st.builds(lambda e, m: ErrorMessage(**e, message=m, severity="error"), envelopes(), texts),
    st.builds(
        lambda e, lvl, m, x: LogMessage(**e, level=lvl, message=m, extra=x),
        envelopes(),
        st.sampled_from(["debug", "info", "warning", "error"]),
        texts,
        data_dicts,
    ),
    st.builds(lambda e, c: AckMessage(**e, ack_command=c), envelopes(), texts),
    st.builds(
        lambda e, rid, html, ttl: WidgetFrameMessage(
            **{k: v for k, v in e.items() if k != "data"},
            data=WidgetFrameData(request_id=rid, html=html, ttl_ms=ttl, state_token="t"),
        ),
        envelopes(),
        texts,
        texts,
        st.integers(0, 10**6),
    ),
)

ids = st.one_of(st.just(msgspec.UNSET), texts)
commands: st.SearchStrategy[AgentCommand] = st.one_of(
    st.builds(lambda i: AckCommand(app_version="0.1.0", protocol_version="0.4", id=i), ids),
    st.builds(lambda r, i: RejectCommand(reason=r, id=i), texts, ids),
    *(
        st.builds(lambda a, i, c=c: c(args=a, id=i), data_dicts, ids)
        for c in (
            FlushCommand,
            StopCommand,
            StartCommand,
            StatusCommand,
            ShutdownCommand,
            WidgetRenderCommand,
            WidgetActionCommand,
            PauseCaptureCommand,
            ResumeCaptureCommand,
        )
    ),
    st.builds(
        lambda s, i: SequenceCommand(sequence=s, id=i),
        st.lists(st.sampled_from(["stop", "flush", "shutdown", "start", "status"]), max_size=5),
        ids,
    ),
)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_every_message_round_trips(message: AgentMessage) -> None:
    line = encode_message(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_message(line) == message


@settings(max_examples=200, deadline=None)
@given(commands)
def test_every_command_round_trips(command: AgentCommand) -> None:
    line = encode_command(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_command(line) == command


def test_strategies_cover_every_type_and_command() -> None:
    assert len(MESSAGE_TYPES) == 8 and len(COMMAND_NAMES) == 12


UPSTREAM_HEARTBEAT = (
    b'{"type": "heartbeat", "timestamp": "2026-01-05T09:00:00.123456+00:00",'
    b' "agent_id": "a", "agent_label": "A", "agent_version": "0.3.2"}'
)


def test_upstream_lines_without_protocol_version_or_data_decode() -> None:
    msg = decode_message(UPSTREAM_HEARTBEAT)
    assert isinstance(msg, HeartbeatMessage)
    assert msg.protocol_version == "0.3" and msg.data == {}


def _line(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "type": "status",
        "timestamp": "2026-01-05T09:00:00+00:00",
        "agent_id": "a",
        "agent_label": "A",
        "agent_version": "1",
    }
    base.update(fields)
    return msgspec.json.encode({k: v for k, v in base.items() if v is not None})


MESSAGE_REJECTIONS: list[tuple[bytes, str, str | None]] = [
    (b"x" * 300, "oversized", None),
    (b'{"type": "log", "message": "\xff"}', "invalid_utf8", None),
    (b"hello world", "not_json", None),
    (b'{"type": ', "not_json", None),
    (b"[1, 2, 3]", "not_object", None),
    (b'"just a string"', "not_object", None),
    (_line(agent_id=None), "missing_field", "agent_id"),
    (_line(type="log", level="info"), "missing_field", "message"),
    (_line(agent_id=5), "wrong_type", "agent_id"),
    (_line(data=[1]), "wrong_type", "data"),
    (_line(type="dance"), "unknown_type", "type"),
    (_line(health="great"), "invalid_value", "health"),
    (_line(timestamp="yesterday"), "invalid_value", "timestamp"),
]


@pytest.mark.parametrize(("line", "reason", "field"), MESSAGE_REJECTIONS)
def test_message_rejection_reasons(line: bytes, reason: str, field: str | None) -> None:
    with pytest.raises(LineRejected) as info:
        decode_message(line, max_bytes=256)
    assert info.value.reason == reason
    assert info.value.field == field
    assert info.value.code == "line_rejected"


def test_every_rejection_reason_is_exercised() -> None:
    assert {reason for _, reason, _ in MESSAGE_REJECTIONS} == set(REJECT_REASONS)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"cmd": "fly"}', "unknown_type"),
        (b'{"cmd": "sequence", "sequence": "stop"}', "wrong_type"),
        (b'{"cmd": "reject"}', "missing_field"),
        (b'{"args": {}}', "missing_field"),
        (b"{}", "missing_field"),
        (b"null", "not_object"),
    ],
)
def test_command_rejection_reasons(line: bytes, reason: str) -> None:
    with pytest.raises(LineRejected) as info:
        decode_command(line)
    assert info.value.reason == reason


def test_oversized_cap_is_exclusive() -> None:
    line = encode_message(
        SummaryMessage(
            timestamp=datetime(2026, 1, 5, tzinfo=UTC),
            agent_id="a",
            agent_label="A",
            agent_version="1",
        )
    ).rstrip(b"\n")
    assert decode_message(line, max_bytes=len(line))
    with pytest.raises(LineRejected):
        decode_message(line, max_bytes=len(line) - 1)
