"""Application lanes: real ledger lines of desktop_activity summaries in, lanes out."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.dataroot import DataRoot
from mimolo.protocol.evidence import wrap_summary
from mimolo.timeline.app_lanes import (
    AppUse,
    build_app_lanes,
    lane_rows,
    parse_app_lines,
    read_app_usage,
)
from mimolo.timeline.demo import DemoSpec, desktop_data, write_demo

from ._builders import BASE, BASE_S, at
from ._ledger import ledger_line


def desktop_line(
    start: datetime,
    end: datetime,
    apps: list[tuple[str, float]],
    *,
    state: str = "active",
    other_s: float = 0.0,
    seq: int = 1,
    plugin_id: str = "desktop_activity",
) -> bytes:
    summary = {
        "type": "summary",
        "timestamp": end,
        "agent_id": "desktop",
        "agent_label": "Desktop",
        "agent_version": "1.0.0",
        "protocol_version": "0.4",
        "data": desktop_data(start, end, apps, state=state, other_s=other_s),
    }
    return wrap_summary(
        seq=seq,
        record_id=f"r{seq}",
        received_at=end,
        plugin_id=plugin_id,
        instance_id="desktop",
        instance_label="Desktop",
        host="test-host",
        raw_summary=msgspec.json.encode(summary),
    )


def test_lines_become_uses_and_other_agents_are_skipped_unread() -> None:
    data = b"".join(
        [
            desktop_line(at(0), at(1), [("code", 40.0), ("firefox", 20.0)], seq=1),
            ledger_line("folders", at(0), at(1), seq=2),
            desktop_line(at(1), at(2), [], state="idle", seq=3),
            desktop_line(at(2), at(3), [("code", 60.0)], plugin_id="other_plugin", seq=4),
            b"not json, and no plugin named\n",
        ]
    )
    uses, warnings = parse_app_lines(data, "day.jsonl")
    assert warnings == []
    assert uses == [AppUse(BASE_S, BASE_S + 60, (("code", 40.0), ("firefox", 20.0)), 0.0)]


def test_a_broken_desktop_line_is_a_warning_naming_the_line() -> None:
    good = desktop_line(at(0), at(1), [("code", 60.0)])
    bad = b'{"plugin_id":"desktop_activity","record":{"type":"summary"}}\n'
    uses, warnings = parse_app_lines(good + bad, "day.jsonl")
    assert len(uses) == 1
    assert [(w.path, w.line) for w in warnings] == [("day.jsonl", 2)]


def test_top_applications_are_lanes_biggest_first_and_the_rest_is_other() -> None:
    uses = [
        AppUse(BASE_S, BASE_S + 60, (("code", 30.0), ("firefox", 20.0), ("xterm", 10.0))),
        AppUse(BASE_S + 60, BASE_S + 120, (("code", 50.0), ("slack", 5.0)), other_s=5.0),
        AppUse(BASE_S + 600, BASE_S + 660, (("firefox", 60.0),)),
    ]
    lanes = build_app_lanes(uses, at(0), at(60), top_n=2)
    assert [(lane.application, lane.seconds) for lane in lanes.lanes] == [
        ("code", 80.0),
        ("firefox", 80.0),
    ]
    assert lanes.other is not None
    assert lanes.other.seconds == pytest.approx(20.0)  # xterm 10 + slack 5 + other_s 5
    assert lanes.applications == 4
    assert lanes.total_s == pytest.approx(180.0)
    code = lanes.lanes[0]
    assert code.spans == [(at(0), at(2), 80.0)]  # touching windows merge into one span
    firefox = lanes.lanes[1]
    assert [(a, b) for a, b, _ in firefox.spans] == [(at(0), at(1)), (at(10), at(11))]
    assert lane_rows(lanes)[-1] is lanes.other


def test_a_window_cut_by_the_range_counts_pro_rata_and_overclaims_are_capped() -> None:
    half_in = AppUse(BASE_S - 60, BASE_S + 60, (("code", 120.0),))
    overclaim = AppUse(BASE_S + 60, BASE_S + 120, (("code", 500.0), ("xterm", 100.0)))
    lanes = build_app_lanes([half_in, overclaim], at(0), at(60))
    seconds = {lane.application: lane.seconds for lane in lanes.lanes}
    assert seconds["code"] == pytest.approx(60.0 + 50.0)
    assert seconds["xterm"] == pytest.approx(10.0)
    assert lanes.lanes[0].spans[0][0] == at(0)  # clipped to the range


def test_nothing_in_range_is_no_lanes() -> None:
    lanes = build_app_lanes([AppUse(BASE_S, BASE_S + 60, (("code", 60.0),))], at(10), at(20))
    assert lanes.lanes == [] and lanes.other is None and lanes.total_s == 0.0
    with pytest.raises(ValueError, match="top_n"):
        build_app_lanes([], at(0), at(1), top_n=-1)


NAMES = ("code", "firefox", "xterm", "blender", "slack", "gimp", "mpv", "vim", "other")


@st.composite
def uses(draw: st.DrawFn) -> list[AppUse]:
    """Back-to-back windows of one agent, each with a few applications (seconds drawn
    freely: agents may overclaim, and the lanes must not believe them)."""
    t = BASE_S + draw(st.floats(min_value=-600, max_value=600))
    out: list[AppUse] = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        length = draw(st.floats(min_value=0, max_value=900))
        apps = draw(
            st.lists(
                st.tuples(st.sampled_from(NAMES), st.floats(min_value=0, max_value=1200)),
                max_size=5,
            )
        )
        other = draw(st.floats(min_value=0, max_value=300))
        out.append(AppUse(t, t + length, tuple(apps), other))
        t += length + draw(st.sampled_from((0.0, 0.0, 30.0, 400.0)))
    return out


@settings(max_examples=200, deadline=None)
@given(uses(), st.integers(min_value=0, max_value=9), st.floats(min_value=0, max_value=7200))
def test_properties_lanes_fit_their_windows_and_add_up(
    items: list[AppUse], top_n: int, range_s: float
) -> None:
    start, end = BASE, BASE + timedelta(seconds=range_s)
    lanes = build_app_lanes(items, start, end, top_n=top_n)
    rows = lane_rows(lanes)
    assert len(lanes.lanes) <= top_n
    assert [lane.seconds for lane in lanes.lanes] == sorted(
        (lane.seconds for lane in lanes.lanes), reverse=True
    )
    # top-N plus other is the total, and every application is in exactly one place
    assert math.isclose(sum(r.seconds for r in rows), lanes.total_s, rel_tol=1e-9, abs_tol=1e-6)
    assert len({r.application for r in lanes.lanes}) == len(lanes.lanes)
    assert lanes.applications >= len(lanes.lanes)
    # no more time than the windows inside the range: per lane and all lanes together
    covered = sum(
        max(0.0, min(u.end, end.timestamp()) - max(u.start, start.timestamp())) for u in items
    )
    assert lanes.total_s <= covered + 1e-6
    for row in rows:
        assert row.seconds >= 0
        for a, b, secs in row.spans:
            assert start <= a <= b <= end
            assert secs <= (b - a).total_seconds() + 1e-6
        spans = [(a, b) for a, b, _ in row.spans]
        assert spans == sorted(spans)
        assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(spans))


def test_read_from_the_data_root_over_demo_evidence_with_desktop(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path)
    write_demo(root, DemoSpec(days=2, seed=5, end=date(2026, 3, 3), desktop=True))
    day = datetime(2026, 3, 3, tzinfo=UTC)
    uses_, warnings = read_app_usage(root, day, day + timedelta(days=1))
    assert warnings == [] and uses_
    lanes = build_app_lanes(uses_, day, day + timedelta(days=1))
    names = {lane.application for lane in lane_rows(lanes)}
    assert {"code", "blender", "libreoffice"} & names
    assert 3600 < lanes.total_s < 12 * 3600
