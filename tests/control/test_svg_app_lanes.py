"""The application-lanes SVG: classes per lane, the remainder last, every name escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from mimolo.control.svg_app_lanes import OTHER_LABEL, app_rows, render_app_lanes_svg
from mimolo.timeline.app_lanes import AppUse, build_app_lanes

START = datetime(2026, 4, 7, tzinfo=UTC)
END = START + timedelta(days=1)
T = START.timestamp() + 9 * 3600


def test_rows_have_palette_classes_and_other_comes_last_with_shares() -> None:
    uses = [AppUse(T, T + 60, (("code", 30.0), ("firefox", 20.0), ("xterm", 10.0)))]
    rows = app_rows(build_app_lanes(uses, START, END, top_n=2))
    assert [(r.label, r.css) for r in rows] == [
        ("code", "lane-c0"),
        ("firefox", "lane-c1"),
        (OTHER_LABEL, "lane-other"),
    ]
    assert abs(sum(r.share for r in rows) - 1.0) < 1e-9


def test_hostile_application_names_are_escaped() -> None:
    name = '<script>alert(1)</script>" onload="x'
    svg = render_app_lanes_svg(
        build_app_lanes([AppUse(T, T + 60, ((name, 60.0),))], START, END), START, END
    )
    assert "<script>" not in svg
    tree = ElementTree.fromstring(svg)  # well-formed: the name stayed inside its attribute
    (lane,) = tree.iter("{http://www.w3.org/2000/svg}g")
    assert lane.get("data-app") == name
    assert "onload" not in lane.attrib


def test_an_empty_range_says_so() -> None:
    svg = render_app_lanes_svg(build_app_lanes([], START, END), START, END)
    assert "No application time recorded in this range." in svg
    assert "<g " not in svg
