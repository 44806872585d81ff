"""agent_template: the documented starting point works as documented."""

from __future__ import annotations

import sys

import pytest

from mimolo.agents.agent_template.agent import TemplateAgent
from mimolo.agents.agent_template.spec import PARAMS, TEMPLATE
from mimolo.agents.catalog import builtin_templates
from mimolo.errors import ConfigError
from mimolo.protocol import ErrorMessage, FlushCommand, SummaryMessage, WidgetRenderCommand
from mimolo.sdk import validate_params
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentHarness


def test_template_is_listed() -> None:
    template = builtin_templates()["agent_template"]
    assert template == TEMPLATE
    assert template.activity_mode == "passive"
    assert template.argv()[-1] == "mimolo.agents.agent_template"


def test_counts_ticks_every_five_seconds_and_copies_the_note() -> None:
    h = AgentHarness.create(TemplateAgent, validate_params(PARAMS, {"note": "hello"}))
    h.advance(21)
    summary = h.send(FlushCommand())[0]
    assert isinstance(summary, SummaryMessage)
    assert summary.data["ticks"] == 4
    assert summary.data["note"] == "hello"
    assert summary.data["activity_signal"] == {
        "mode": "passive",
        "keep_alive": None,
        "reason": "template",
    }
    assert set(summary.data["window"]) == {"start", "end"}


def test_has_no_widget() -> None:
    h = AgentHarness.create(TemplateAgent, validate_params(PARAMS, {}))
    (error,) = h.send(WidgetRenderCommand(args={"request_id": "w"}))
    assert isinstance(error, ErrorMessage) and error.message == "widget_not_supported"


def test_note_is_bounded() -> None:
    with pytest.raises(ConfigError) as info:
        validate_params(PARAMS, {"note": "x" * 201})
    assert info.value.field == "params.note"


@pytest.mark.slow
def test_passes_the_conformance_checker() -> None:
    options = CheckOptions(seconds=0.5, timeout_s=20, heartbeat_grace_s=8)
    report = run_check([sys.executable, "-m", "mimolo.agents.agent_template"], options)
    assert report.passed, report.rows
