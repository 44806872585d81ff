"""The timeline's review forms: local times in the page's zone (DST included), ranges,
reasons, tags and clients checked before anything reaches Operations."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mimolo.control.review_forms import (
    idle_request,
    local_instant,
    range_request,
    revoke_request,
    tags_of,
)
from mimolo.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")


def test_local_times_are_read_in_the_zone() -> None:
    assert local_instant("2026-07-01T09:30", BERLIN, "start") == datetime(
        2026, 7, 1, 7, 30, tzinfo=UTC
    )
    assert local_instant("2026-01-15T17:00", LA, "start") == datetime(2026, 1, 16, 1, 0, tzinfo=UTC)


def test_a_skipped_wall_time_is_refused_and_a_repeated_one_is_the_first() -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        local_instant("2026-03-29T02:30", BERLIN, "start")
    assert caught.value.field == "start"
    # 2026-10-25 02:30 happens twice in Berlin: the first is 00:30 UTC (CEST, +02:00)
    assert local_instant("2026-10-25T02:30", BERLIN, "end") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_the_drags_exact_instants_win_over_the_typed_local_times() -> None:
    form = {
        "kind": "exclude_range",
        "start": "2026-10-25T02:30",
        "start_utc": "2026-10-25T01:30:00Z",  # the second 02:30 (CET)
        "end": "2026-10-25T02:50",
        "end_utc": "2026-10-25T01:50:00+00:00",
        "reason": "lunch",
    }
    fields = range_request(form, BERLIN)
    assert fields == {
        "kind": "exclude_range",
        "start": "2026-10-25T01:30:00+00:00",
        "end": "2026-10-25T01:50:00+00:00",
        "reason": "lunch",
    }


def test_assign_needs_a_client_and_carries_project_and_tags() -> None:
    base = {"start": "2026-07-01T09:00", "end": "2026-07-01T10:00", "reason": "call"}
    with pytest.raises(ConfigError) as caught:
        range_request({**base, "kind": "assign_range"}, BERLIN)
    assert caught.value.field == "client_id"
    fields = range_request(
        {**base, "kind": "assign_range", "client_id": "acme", "project": " Site  A ",
         "tags": "Call, billable call"},
        BERLIN,
    )  # fmt: skip
    assert fields["assign"] == {
        "client_id": "acme",
        "project": "Site A",
        "tags": ["call", "billable"],
    }
    manual = range_request({**base, "kind": "manual_entry"}, BERLIN)
    assert manual["assign"] == {"client_id": None, "project": None, "tags": []}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "delete"}, "kind"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"end": "2026-07-01T08:00"}, "end"),
        ({"end": "2026-07-01T09:00"}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"start": ""}, "start"),
        ({"client_id": "Not A Slug!"}, "client_id"),
        ({"tags": "ok, <b>"}, "tags"),
        ({"start_utc": "2026-07-01T09:00"}, "start"),
    ],
)
def test_bad_input_names_its_field(change: dict[str, str], field: str) -> None:
    form = {
        "kind": "assign_range",
        "client_id": "acme",
        "start": "2026-07-01T09:00",
        "end": "2026-07-01T10:00",
        "reason": "meeting",
        **change,
    }
    with pytest.raises(ConfigError) as caught:
        range_request(form, BERLIN)
    assert caught.value.field == field


def test_idle_decisions_and_a_split_inside_the_gap() -> None:
    gap = {"start": "2026-07-01T10:00:00+00:00", "end": "2026-07-01T11:00:00+00:00"}
    keep = idle_request({**gap, "kind": "idle_keep", "reason": "reading"}, BERLIN)
    assert keep["kind"] == "idle_keep" and "split_at" not in keep
    split = idle_request(
        {**gap, "kind": "idle_split", "split_at": "2026-07-01T12:20", "reason": "read, then lunch"},
        BERLIN,
    )
    assert split["split_at"] == "2026-07-01T10:20:00+00:00"
    for at in ("2026-07-01T11:30", "2026-07-01T13:00", ""):
        with pytest.raises(ConfigError) as caught:
            idle_request({**gap, "kind": "idle_split", "split_at": at, "reason": "x"}, BERLIN)
        assert caught.value.field == "split_at"


def test_revoke_and_tags() -> None:
    assert revoke_request({"id": "ab12", "reason": "wrong client"}) == {
        "id": "ab12",
        "reason": "wrong client",
    }
    with pytest.raises(ConfigError):
        revoke_request({"id": "../x", "reason": "r"})
    assert tags_of("a b,a  c") == ["a", "b", "c"]
