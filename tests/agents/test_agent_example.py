"""agent_example: synthetic activity, its parameters, its widget; passes the checker."""

from __future__ import annotations

import sys

import pytest

from mimolo.agents.agent_example.agent import ExampleAgent
from mimolo.agents.agent_example.spec import PARAMS, TEMPLATE
from mimolo.agents.catalog import builtin_templates
from mimolo.errors import ConfigError
from mimolo.protocol import (
    FlushCommand,
    HandshakeMessage,
    SummaryMessage,
    WidgetActionCommand,
    WidgetFrameMessage,
    WidgetRenderCommand,
)
from mimolo.sdk import validate_params
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentHarness


def config(**values: object) -> dict[str, object]:
    return validate_params(PARAMS, values)


def flush_data(h: AgentHarness) -> dict[str, object]:
    summary = h.send(FlushCommand())[0]
    assert isinstance(summary, SummaryMessage)
    return summary.data


def test_template_is_listed_with_its_params() -> None:
    assert builtin_templates()["agent_example"] == TEMPLATE
    assert TEMPLATE.argv() == [sys.executable, "-m", "mimolo.agents.agent_example"]
    assert TEMPLATE.activity_mode == "active"
    assert [p.name for p in TEMPLATE.params] == [
        "mode",
        "activity_probability",
        "client_id",
        "seed",
    ]


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"mode": "sometimes"}, "params.mode"),
        ({"activity_probability": 1.5}, "params.activity_probability"),
        ({"activity_probability": "lots"}, "params.activity_probability"),
        ({"seed": -1}, "params.seed"),
        ({"colour": "red"}, "params.colour"),
    ],
)
def test_bad_params_name_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_params(PARAMS, values)
    assert info.value.field == key


def test_always_active_counts_every_sample() -> None:
    h = AgentHarness.create(ExampleAgent, config(activity_probability=1.0, client_id="acme"))
    h.advance(5.5)
    data = flush_data(h)
    assert data["samples"] == 5 and data["active_samples"] == 5
    assert data["activity_signal"] == {"mode": "active", "keep_alive": True, "reason": "synthetic"}
    assert data["client_id"] == "acme"


def test_never_active_is_idle_and_has_no_client() -> None:
    h = AgentHarness.create(ExampleAgent, config(activity_probability=0.0))
    h.advance(3.5)
    data = flush_data(h)
    assert data["active_samples"] == 0
    assert data["activity_signal"] == {"mode": "active", "keep_alive": False, "reason": "idle"}
    assert "client_id" not in data


def test_passive_mode_never_keeps_alive() -> None:
    h = AgentHarness.create(ExampleAgent, config(mode="passive", activity_probability=1.0))
    h.advance(2.5)
    signal = flush_data(h)["activity_signal"]
    assert signal == {"mode": "passive", "keep_alive": None, "reason": "synthetic"}


def test_seed_makes_runs_reproducible() -> None:
    counts = []
    for _ in range(2):
        h = AgentHarness.create(ExampleAgent, config(seed=42, activity_probability=0.5))
        h.advance(50.5)
        counts.append(flush_data(h)["active_samples"])
    assert counts[0] == counts[1] and 0 < counts[0] < 50  # type: ignore[operator]


def test_widget_shows_recent_summaries_newest_first() -> None:
    h = AgentHarness.create(ExampleAgent, config(activity_probability=1.0))
    handshake = h.sent[0]
    assert isinstance(handshake, HandshakeMessage)
    manifest = handshake.data["widget_manifest"]
    assert manifest == {
        "supports_render": True,
        "default_aspect_ratio": "16:9",
        "min_refresh_ms": 1000,
        "supported_actions": ["refresh"],
        "content_modes": ["html_fragment_v1"],
    }
    (empty,) = h.send(WidgetRenderCommand(args={"request_id": "r0"}))
    assert isinstance(empty, WidgetFrameMessage) and "No summaries yet" in empty.data.html
    for seconds in (2.5, 4):
        h.advance(seconds)
        h.send(WidgetActionCommand(args={"request_id": "r", "action": "refresh"}))
    (frame,) = h.send(WidgetRenderCommand(args={"request_id": "r1"}))
    assert isinstance(frame, WidgetFrameMessage)
    html = frame.data.html
    assert html.count("<tr>") == 3  # header + two summaries
    assert html.index("<td>4</td>") < html.index("<td>2</td>")
    assert "<script" not in html


def test_widget_history_is_bounded() -> None:
    h = AgentHarness.create(ExampleAgent, config())
    for _ in range(25):
        h.send(FlushCommand())
    (frame,) = h.send(WidgetRenderCommand(args={"request_id": "r"}))
    assert isinstance(frame, WidgetFrameMessage)
    assert frame.data.html.count("<tr>") == 11


@pytest.mark.slow
def test_passes_the_conformance_checker_with_params() -> None:
    options = CheckOptions(
        seconds=0.5,
        timeout_s=20,
        heartbeat_grace_s=8,
        config={"mode": "passive", "client_id": "acme", "seed": 3},
    )
    report = run_check([sys.executable, "-m", "mimolo.agents.agent_example"], options)
    assert report.passed, report.rows
    assert report.row("widget").result == "PASS"
