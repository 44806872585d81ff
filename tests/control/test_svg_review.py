"""The review chart: lanes from the reviewed client, adjusted/locked/manual segments marked,
idle gaps with their decision, locked periods named, local ticks on DST days."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import msgspec

from mimolo.control.svg_review import lane_names, local_ticks, render_review_svg

BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")
NS = "{http://www.w3.org/2000/svg}"


class Seg(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime
    end: datetime
    duration_s: float
    instances: list[str]
    client_id: str | None = None
    project: str | None = None
    source: str = "evidence"
    adjustment_ids: list[str] = []
    rule_ids: list[str] = []
    locked_by: str | None = None


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime
    end: datetime
    decided_by: str | None = None


class Lock(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    client_id: str
    project: str | None
    start: datetime
    end: datetime


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, 1, hour, minute, tzinfo=UTC)


def seg(start: datetime, end: datetime, **kw: object) -> Seg:
    return Seg(start=start, end=end, duration_s=(end - start).total_seconds(), **kw)  # type: ignore[arg-type]


def test_a_23_hour_day_has_local_ticks_every_three_hours() -> None:
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 CET on the 29th
    end = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # 00:00 CEST on the 30th: 23 hours
    ticks = local_ticks(start, end, BERLIN)
    assert [label for _, label in ticks] == [
        "00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00",
    ]  # fmt: skip
    assert ticks[1][0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_a_week_has_one_tick_per_local_midnight() -> None:
    start = datetime(2026, 4, 5, 12, 0, tzinfo=UTC)  # Mon 6 April 00:00 NZST (+12)
    ticks = local_ticks(start, start + timedelta(days=7), AUCKLAND)
    assert [label for _, label in ticks][:2] == ["Mon 06", "Tue 07"]
    assert len(ticks) == 7


def test_segments_draw_in_their_reviewed_client_lane_with_their_marks() -> None:
    segments = [
        seg(at(8), at(9), instances=["desk"], client_id="acme", rule_ids=["r1"]),
        seg(at(10), at(11), instances=["desk"], client_id="globex", adjustment_ids=["a1"]),
        seg(at(12), at(12, 30), instances=[], source="manual", adjustment_ids=["a2"]),
        seg(at(13), at(14), instances=["desk"], client_id="acme", locked_by="inv1"),
    ]
    assert lane_names(segments, "client") == ["acme", "globex", "unassigned"]
    svg = render_review_svg(
        segments,
        [Gap(start=at(9), end=at(10), decided_by="a3"), Gap(start=at(15), end=at(16))],
        [Lock(number="2026-0001", client_id="acme", project=None, start=at(13), end=at(14))],
        at(0),
        at(0) + timedelta(days=1),
        BERLIN,
        decisions={"a3": "idle_keep"},
    )
    root = ElementTree.fromstring(svg)
    assert root.get("data-zone") == "Europe/Berlin"
    assert root.get("data-start") == "2026-07-01T00:00:00+00:00"
    rects = {r.get("data-segment"): r for r in root.iter(f"{NS}rect") if r.get("data-segment")}
    assert rects["1"].get("class") == "seg src-evidence seg-adjusted"
    assert rects["1"].get("data-adjustments") == "a1"
    assert rects["2"].get("class") == "seg src-manual seg-adjusted"
    assert rects["3"].get("class") == "seg src-evidence seg-locked"
    idle = [r.get("class") for r in root.iter(f"{NS}rect") if "idle-gap" in (r.get("class") or "")]
    assert idle == ["idle-gap idle-idle_keep", "idle-gap idle-undecided"]
    assert "Locked · 2026-0001" in svg
    assert re.search(r"rules r1", svg)
    assert root.find(f".//{NS}rect[@id='review-selection']") is not None


def test_text_is_escaped_and_instance_lanes_group_by_instance() -> None:
    segments = [seg(at(8), at(9), instances=['<script>"x"'], client_id="acme")]
    svg = render_review_svg(
        segments, [], [], at(0), at(0) + timedelta(days=1), UTC, group="instance"
    )
    assert "<script>" not in svg
    ElementTree.fromstring(svg)  # well-formed
    empty = render_review_svg([], [], [], at(0), at(0) + timedelta(days=1), UTC)
    assert "No work segments in this range. Drag here" in empty


def test_excluded_time_is_drawn_hollow_in_its_lane() -> None:
    gone = seg(at(8), at(9), instances=["desk"], client_id="initech", adjustment_ids=["x1"])
    svg = render_review_svg([], [], [], at(0), at(0) + timedelta(days=1), UTC, excluded=[gone])
    root = ElementTree.fromstring(svg)
    [rect] = [r for r in root.iter(f"{NS}rect") if r.get("class") == "seg-excluded"]
    assert rect.get("data-adjustments") == "x1"
    assert root.find(f".//{NS}g[@data-lane='initech']") is not None
    assert "excluded" in svg
