"""The usage chart: bars stacked by retention class, scaled to the largest instance,
escaped text, no inline styles; and the Storage forms' pure helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.control.routes.storage import archive_decision, day_bound, range_of
from mimolo.control.svg_storage import (
    class_colours,
    human_bytes,
    render_usage_svg,
    usage_row,
)
from mimolo.errors import InvalidField

NS = "{http://www.w3.org/2000/svg}"


def inventory(**classes: int) -> dict[str, Any]:
    return {
        "total_bytes": sum(classes.values()),
        "total_files": len(classes),
        "classes": [
            {"retention_class": name, "bytes": size, "files": 1} for name, size in classes.items()
        ],
    }


def parts_of(svg: str) -> dict[str, list[tuple[str, float]]]:
    """instance_id -> [(class attribute, width)] of its bar's parts."""
    root = ET.fromstring(svg)
    out: dict[str, list[tuple[str, float]]] = {}
    for group in root.iter(f"{NS}g"):
        iid = group.get("data-instance")
        if iid is None:
            continue
        out[iid] = [
            (rect.get("class", ""), float(rect.get("width", "0")))
            for rect in group.iter(f"{NS}rect")
            if "part" in rect.get("class", "").split()
        ]
    return out


def test_bars_are_stacked_by_class_and_scaled_to_the_largest() -> None:
    rows = [
        usage_row("screen-1", "Screen", inventory(screenshots=600, thumbs=200)),
        usage_row("folders", "Folders", inventory(default=400)),
        usage_row("empty", "Empty", {}),
    ]
    svg = render_usage_svg(rows, width=1000)
    parts = parts_of(svg)
    colours = class_colours(rows)
    assert colours == {"default": 0, "screenshots": 1, "thumbs": 2}
    screen = parts["screen-1"]
    assert [c for c, _ in screen] == ["part store-c1", "part store-c2"]
    full = sum(w for _, w in screen)
    assert full == pytest.approx(1000 - 200 - 110)
    assert sum(w for _, w in parts["folders"]) == pytest.approx(full / 2)
    assert parts["empty"] == []
    assert "style=" not in svg
    assert "800 bytes" in svg and "400 bytes" in svg


def test_text_is_escaped() -> None:
    row = usage_row("x", '<script>alert("x")</script>', inventory(**{"<b>": 10}))
    svg = render_usage_svg([row])
    ET.fromstring(svg)  # still well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_instances_says_so() -> None:
    assert "No instances." in render_usage_svg([])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 10**12)), max_size=6))
def test_no_bar_is_wider_than_the_plot(sizes: list[dict[str, int]]) -> None:
    rows = [usage_row(f"i{n}", f"I{n}", inventory(**s)) for n, s in enumerate(sizes)]
    for bar in parts_of(render_usage_svg(rows, width=1000)).values():
        assert sum(w for _, w in bar) <= 690 + len(bar) * 1.0 + 1e-6


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 bytes"), (999, "999 bytes"), (1000, "1.0 kB"), (1_500_000, "1.5 MB"), (None, "\u2013")],
)
def test_human_bytes(n: int | None, text: str) -> None:
    assert human_bytes(n) == text


def test_day_bounds_cover_whole_utc_days() -> None:
    assert day_bound("2026-03-01", "start", end=False) == "2026-03-01T00:00:00Z"
    assert day_bound("2026-03-01", "end", end=True) == "2026-03-02T00:00:00Z"
    assert day_bound("  ", "start", end=False) is None
    assert range_of({"start": "2026-03-01", "end": "2026-03-01"}) == {
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-02T00:00:00Z",
    }
    assert range_of({"start": "", "end": ""}) == {}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "end"),
    ],
)
def test_bad_ranges_name_their_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidField) as err:
        range_of(form)
    assert err.value.field == field


def test_archive_decisions() -> None:
    assert archive_decision({"archive_choice": "create_archive"}) == {"action": "create_archive"}
    assert archive_decision({"archive_choice": "decline_archive"}) == {"action": "decline_archive"}
    assert archive_decision({"archive_choice": "use_existing_archive:20260301_x_y"}) == {
        "action": "use_existing_archive",
        "archive_id": "20260301_x_y",
    }
    for bad in ("", "use_existing_archive", "delete_everything", "create_archive:x"):
        with pytest.raises(InvalidField):
            archive_decision({"archive_choice": bad})
