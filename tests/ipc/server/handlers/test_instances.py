"""Pure provisioning checks and the diagnostics-tail selection used by the control API."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimolo.agents.catalog import builtin_templates
from mimolo.errors import ConfigError
from mimolo.ipc.server.handlers.instances import (
    check_instance,
    checked_params,
    copy_label,
    new_instance_id,
    template_for,
)
from mimolo.ipc.server.handlers.runtime import DiagnosticsTailParams, agent_counts, select_tail
from mimolo.protocol.config_schema import InstanceConfig
from mimolo.slugs import is_slug

EXAMPLE = builtin_templates()["agent_example"]


@given(st.text(max_size=200), st.sets(st.text(max_size=10), max_size=20))
def test_new_instance_id_is_always_a_fresh_slug(label: str, taken: set[str]) -> None:
    new = new_instance_id(label, taken)
    assert is_slug(new)
    assert new not in taken


def test_new_instance_id_counts_up_and_skips_existing_storage() -> None:
    assert new_instance_id("ACME work!", set()) == "acme-work"
    assert new_instance_id("ACME work!", {"acme-work"}) == "acme-work-2"
    assert new_instance_id("ACME", {"acme"}, exists=lambda i: i == "acme-2") == "acme-3"
    assert new_instance_id("¿¿¿", set(), fallback="agent-example") == "agent-example"
    assert len(new_instance_id("x" * 300, set())) <= 64


def test_copy_label() -> None:
    assert copy_label("Desk", set()) == "Desk (copy)"
    assert copy_label("Desk", {"Desk (copy)", "Desk (copy 2)"}) == "Desk (copy 3)"


def test_template_for_names_the_known_templates() -> None:
    with pytest.raises(ConfigError) as info:
        template_for(builtin_templates(), "nope")
    assert info.value.code == "unknown_template"
    assert info.value.field == "template"
    assert "agent_example" in info.value.message


def test_checked_params_coerces_and_keeps_only_what_was_given() -> None:
    assert checked_params(EXAMPLE, {"seed": "4", "activity_probability": "0.5"}) == {
        "seed": 4,
        "activity_probability": 0.5,
    }
    assert checked_params(EXAMPLE, {}) == {}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"label": " "}, "label"),
        ({"label": "x" * 500}, "label"),
        ({"client_id": "Not A Slug"}, "client_id"),
        ({"flush_interval_s": -1.0}, "flush_interval_s"),
        ({"heartbeat_interval_s": 0.0}, "heartbeat_interval_s"),
        ({"cpu_budget_percent": float("nan")}, "cpu_budget_percent"),
        ({"params": {"seed": -1}}, "params.seed"),
        ({"params": {"mode": 3}}, "params.mode"),
    ],
)
def test_check_instance_refusals_name_the_key(changes: dict[str, Any], key: str) -> None:
    base: dict[str, Any] = {"template": "agent_example", "label": "Desk", **changes}
    with pytest.raises(ConfigError) as info:
        check_instance(InstanceConfig(**base), EXAMPLE)
    assert info.value.field == key


def _records() -> list[dict[str, Any]]:
    return [
        {"ts": "1", "kind": "heartbeat", "instance_id": "a"},
        {"ts": "2", "kind": "log", "instance_id": "b", "level": "debug"},
        {"ts": "3", "kind": "error", "instance_id": "a"},
        {"ts": "4", "kind": "status", "instance_id": "b", "level": "warning"},
        {"ts": "5", "kind": "audit", "action": "add_agent_instance"},
    ]


def test_select_tail_filters_and_keeps_order() -> None:
    records = _records()
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=10))
    assert [r["ts"] for r in chosen] == ["1", "2", "3", "4", "5"] and not truncated
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=2))
    assert [r["ts"] for r in chosen] == ["4", "5"] and truncated
    chosen, _ = select_tail(records, DiagnosticsTailParams(instance_id="a"))
    assert [r["ts"] for r in chosen] == ["1", "3"]
    chosen, _ = select_tail(records, DiagnosticsTailParams(level="warning"))
    assert [r["ts"] for r in chosen] == ["3", "4"]  # kind error counts as level error
    chosen, _ = select_tail(records, DiagnosticsTailParams(kind="audit"))
    assert [r["ts"] for r in chosen] == ["5"]


def test_select_tail_respects_the_byte_budget() -> None:
    records = [{"ts": str(i), "kind": "log", "message": "m" * 1000} for i in range(100)]
    chosen, truncated = select_tail(records, DiagnosticsTailParams(limit=100), budget=10_000)
    assert truncated
    assert 0 < len(chosen) < 10
    assert chosen[-1]["ts"] == "99"


def test_agent_counts() -> None:
    states = [{"state": "running"}, {"state": "running"}, {"state": "stopped"}]
    assert agent_counts(states) == {"running": 2, "stopped": 1}
