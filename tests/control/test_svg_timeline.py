"""The SVG renderer: lanes per client or instance, escaped text, no inline styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.control.svg_timeline import build_lanes, render_timeline_svg
from mimolo.timeline.models import Segment

DAY = datetime(2026, 3, 4, tzinfo=UTC)
NS = "{http://www.w3.org/2000/svg}"


def seg(hour: float, minutes: float, instances: list[str], clients: list[str]) -> Segment:
    start = DAY + timedelta(hours=hour)
    return Segment(
        start=start,
        end=start + timedelta(minutes=minutes),
        duration_s=minutes * 60,
        instances=instances,
        client_ids=clients,
        summary_count=3,
    )


SEGMENTS = [
    seg(9, 90, ["folders-acme"], ["acme"]),
    seg(13, 30, ["folders-globex", "screen"], ["globex"]),
    seg(15, 10, ["screen"], []),
]


def test_lanes_per_client_and_per_instance() -> None:
    by_client = build_lanes(SEGMENTS, "client")
    assert [lane.name for lane in by_client] == ["acme", "globex", "unassigned"]
    assert by_client[0].total_s == 90 * 60
    by_instance = build_lanes(SEGMENTS, "instance")
    assert [lane.name for lane in by_instance] == ["folders-acme", "folders-globex", "screen"]
    assert len(by_instance[2].spans) == 2


def test_svg_is_well_formed_with_a_rect_per_segment_lane() -> None:
    svg = render_timeline_svg(SEGMENTS, DAY, DAY + timedelta(days=1), group="client")
    tree = ET.fromstring(svg)
    bars = tree.findall(f".//{NS}rect[@class='seg']")
    assert len(bars) == 3
    lanes = [g.get("data-lane") for g in tree.findall(f"{NS}g")]
    assert lanes == ["acme", "globex", "unassigned"]
    assert "style" not in svg
    first = bars[0]
    # 09:00 of a 24 h axis starting at x=160 with a 832 px plot.
    assert abs(float(first.get("x", "0")) - (160 + 832 * 9 / 24)) < 0.2


def test_text_is_escaped() -> None:
    hostile = seg(9, 30, ["<script>alert(1)</script>"], ['"><img src=x onerror=alert(1)>'])
    svg = render_timeline_svg([hostile], DAY, DAY + timedelta(days=1), group="instance")
    assert "<script>" not in svg
    ET.fromstring(svg)
    svg = render_timeline_svg([hostile], DAY, DAY + timedelta(days=1), group="client")
    assert "<img" not in svg
    ET.fromstring(svg)


def test_empty_range_says_so() -> None:
    svg = render_timeline_svg([], DAY, DAY + timedelta(days=1))
    assert "No work segments" in svg
    ET.fromstring(svg)


def test_week_axis_has_day_ticks() -> None:
    svg = render_timeline_svg(SEGMENTS, DAY, DAY + timedelta(days=7))
    labels = [t.text for t in ET.fromstring(svg).findall(f"{NS}text[@class='tick-label']")]
    assert len(labels) == 7
    assert labels[0] == "Wed 04"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-30, 30),
            st.floats(0, 600),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=12,
    )
)
def test_bars_always_stay_inside_the_plot(spans: list[tuple[float, float, str]]) -> None:
    segments = [seg(h, m, [name], [name]) for h, m, name in spans]
    svg = render_timeline_svg(segments, DAY, DAY + timedelta(days=1), width=1000)
    for bar in ET.fromstring(svg).iter(f"{NS}rect"):
        if bar.get("class") != "seg":
            continue
        x, w = float(bar.get("x", "0")), float(bar.get("width", "0"))
        assert 160 <= x <= 992
        assert x + w <= 994.1
