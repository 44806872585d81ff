"""Forms built from parameter declarations, and the validation that names the field."""

from __future__ import annotations

import msgspec
import pytest

from mimolo.agents.agent_example.spec import PARAMS
from mimolo.control.errors_http import form_key
from mimolo.control.forms import decode_params, param_fields, params_from_form
from mimolo.control.routes.reports import parse_report_form
from mimolo.errors import ConfigError
from mimolo.protocol.params import Param

LIST_PARAM = Param(name="folders", type="path_list", default=["a", "b"], help="Folders")
BOOL_PARAM = Param(name="native", type="bool", default=True, help="Native watching")


def test_fields_follow_the_declarations() -> None:
    fields = {f.name: f for f in param_fields((*PARAMS, LIST_PARAM, BOOL_PARAM), {"seed": 5})}
    assert fields["params.mode"].kind == "select"
    assert fields["params.mode"].choices == ("active", "passive")
    assert fields["params.activity_probability"].kind == "number"
    assert fields["params.activity_probability"].maximum == 1.0
    assert fields["params.seed"].value == "5"
    assert fields["params.folders"].kind == "textarea"
    assert fields["params.folders"].value == "a\nb"
    assert fields["params.native"].checked


def test_form_values_are_coerced() -> None:
    values = params_from_form(
        (*PARAMS, LIST_PARAM, BOOL_PARAM),
        {
            "params.mode": "passive",
            "params.activity_probability": "0.25",
            "params.seed": "",
            "params.folders": "x\ny\n",
            "label": "ignored here",
        },
    )
    assert values["mode"] == "passive"
    assert values["activity_probability"] == 0.25
    assert values["seed"] == 0  # blank number → default
    assert values["folders"] == ["x", "y"]
    assert values["native"] is False  # an unchecked box is absent from the form


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("params.activity_probability", "1.5"),
        ("params.activity_probability", "lots"),
        ("params.mode", "sideways"),
        ("params.seed", "-1"),
        ("params.unknown", "1"),
    ],
)
def test_bad_values_name_their_field(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        params_from_form(PARAMS, {field: value})
    assert form_key(info.value.field) == field


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("instances.x.params.seed", "params.seed"),
        ("params.seed", "params.seed"),
        ("instance_label", "instance_label"),
        ("instances.x.instance_label", "instance_label"),
        ("instances.x.plugin_id", "plugin_id"),
        ("end", "end"),
        ("client_id", "client_id"),
        ("instances.x.enabled", "_form"),
        (None, "_form"),
    ],
)
def test_error_keys_map_to_form_fields(key: str | None, expected: str) -> None:
    assert form_key(key) == expected


def test_declarations_round_trip_over_ipc() -> None:
    raw = msgspec.to_builtins(list(PARAMS))
    assert decode_params(raw) == PARAMS
    assert decode_params("garbage") == ()


GOOD_REPORT = {
    "kind": "invoice-pdf",
    "start": "2026-03-01",
    "end": "2026-03-31",
    "client": "acme",
    "rate": "85.50",
    "currency": "eur",
}


def test_a_good_report_form() -> None:
    report = parse_report_form(GOOD_REPORT)
    assert report.rate == "85.50"
    assert report.currency == "EUR"
    assert report.client_id == "acme"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "exe"),
        ("start", "yesterday"),
        ("end", "2026-02-01"),
        ("end", "2028-01-01"),
        ("client", "../etc"),
        ("client", ""),
        ("rate", "-5"),
        ("rate", "NaN"),
        ("rate", "ten"),
        ("currency", "<b>"),
    ],
)
def test_bad_report_forms_name_their_field(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_report_form({**GOOD_REPORT, field: value})
    assert info.value.field == field
