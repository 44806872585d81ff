"""Envelope helpers: field names from validation errors, encoding, timestamps."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from mimolo.ipc.types import (
    ERROR_CODES,
    Response,
    decode_response,
    encode_line,
    error_response,
    field_of,
    ok_response,
    utc_now_iso,
)


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    seed: int


class Outer(msgspec.Struct, forbid_unknown_fields=True):
    instance_id: str
    params: Inner
    tags: list[int] = []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "instance_id"),
        ({"instance_id": 3, "params": {"seed": 1}}, "instance_id"),
        ({"instance_id": "a", "params": {"seed": "x"}}, "params.seed"),
        ({"instance_id": "a", "params": {}}, "params.seed"),
        ({"instance_id": "a", "params": {"seed": 1, "extra": 2}}, "params.extra"),
        ({"instance_id": "a", "params": {"seed": 1}, "tags": [1, "b"]}, "tags.1"),
        ({"instance_id": "a", "params": {"seed": 1}, "bogus": True}, "bogus"),
    ],
)
def test_field_of_names_the_offending_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.convert(raw, Outer, strict=True)
    assert field_of(info.value) == field


def test_ok_and_error_envelopes_round_trip() -> None:
    ok = decode_response(encode_line(ok_response("ping", "r1", {"pong": True})))
    assert (ok.ok, ok.cmd, ok.request_id, ok.data, ok.error) == (
        True,
        "ping",
        "r1",
        {"pong": True},
        None,
    )
    line = encode_line(error_response("x", 5, "invalid_field", "bad", field="limit"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    raw = msgspec.json.decode(line)
    assert raw["request_id"] == 5 and raw["field"] == "limit" and "data" not in raw
    err = decode_response(line)
    assert isinstance(err, Response)
    assert (err.ok, err.error, err.message) == (False, "invalid_field", "bad")


def test_envelope_always_carries_cmd_and_request_id_even_when_null() -> None:
    raw = msgspec.json.decode(encode_line(error_response(None, None, "invalid_json", "no")))
    assert raw["cmd"] is None and raw["request_id"] is None


def test_timestamp_is_utc_iso_with_z() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now_iso())


def test_error_codes_are_slugs_with_descriptions() -> None:
    for code, description in ERROR_CODES.items():
        assert re.fullmatch(r"[a-z_]+", code)
        assert description
