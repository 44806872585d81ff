"""BaseAgent's widget answers (agent_widgets): frames, the manifest, actions."""

from __future__ import annotations

import pytest

from mimolo.protocol import (
    ErrorMessage,
    HandshakeMessage,
    WidgetActionCommand,
    WidgetFrameMessage,
    WidgetRenderCommand,
)
from mimolo.sdk import WidgetRequest
from mimolo.testing import AgentHarness

from ._counter import Counter, kinds


class Widgety(Counter):
    def render_widget(self, request: WidgetRequest) -> str:
        return f"<p>{self.count} for {request.request_id} at {request.width}</p>"


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
