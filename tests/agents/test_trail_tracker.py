"""trail_tracker: the debounce/inactivity machine on exact time, the agent on real folders."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mimolo.agents.trail_tracker.agent import TrailTrackerAgent
from mimolo.agents.trail_tracker.debounce import PING_TIMES_LIMIT, TrailActivity
from mimolo.agents.trail_tracker.scan import scan_trails, written
from mimolo.errors import ConfigError
from mimolo.protocol.messages import ErrorMessage, LogMessage, StatusMessage, SummaryMessage
from mimolo.sdk import WidgetRequest
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentHarness

from ._support import DEADLINE_S, agent_argv, driver_for, flush, poll

NAME = "trail_tracker"


def machine(ping: float = 30, idle: float = 300) -> TrailActivity:
    return TrailActivity(min_ping_interval_s=ping, inactivity_threshold_s=idle, start=0.0)


def test_at_most_one_ping_per_min_interval() -> None:
    m = machine(ping=30)
    pings = [m.write(t) for t in (0, 5, 29.9, 30, 31, 61, 200)]
    assert pings == [True, False, False, True, False, True, True]
    w = m.take(201)
    assert (w.writes, w.pings) == (7, 4)
    assert w.ping_times == [0, 30, 61, 200]


def test_inactive_only_once_the_threshold_has_passed_and_not_retroactively() -> None:
    m = machine(idle=300)
    m.write(100)
    assert (m.tick(399.9), m.active) == (False, True)
    assert (m.tick(400), m.active) == (True, False)
    w = m.take(1000)
    # Active from the write until write + threshold - not cut back to the write.
    assert (w.active_from, w.active_to, w.active_now) == (100, 400, False)


def test_late_detection_still_ends_the_span_at_the_threshold() -> None:
    m = machine(idle=60)
    m.write(10)
    w = m.take(500)  # no tick in between
    assert (w.active_from, w.active_to) == (10, 70)


def test_activity_carries_across_windows() -> None:
    m = machine(idle=300)
    m.write(50)
    first = m.take(100)
    assert (first.active_from, first.active_to, first.active_now) == (50, 100, True)
    second = m.take(200)  # no writes, still within the threshold
    assert second.was_active and second.writes == 0
    assert (second.active_from, second.active_to) == (100, 200)
    third = m.take(1000)
    assert (third.active_from, third.active_to) == (200, 350)
    fourth = m.take(2000)
    assert not fourth.was_active


def test_idle_windows_are_not_active() -> None:
    w = machine().take(60)
    assert not w.was_active and w.last_write_at is None


def test_ping_times_are_bounded() -> None:
    m = machine(ping=1)
    for t in range(PING_TIMES_LIMIT * 2):
        m.write(float(t))
    w = m.take(1000.0)
    assert w.pings == PING_TIMES_LIMIT * 2
    assert len(w.ping_times) == PING_TIMES_LIMIT


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 400), max_size=40), st.floats(1, 100), st.floats(5, 300))
def test_property_pings_are_spaced_and_spans_are_ordered(
    gaps: list[float], ping: float, idle: float
) -> None:
    m = machine(ping=ping, idle=idle)
    t = 0.0
    for gap in gaps:
        t += gap
        m.write(t)
    w = m.take(t + 1)
    times = w.ping_times
    assert all(b - a >= ping for a, b in itertools.pairwise(times))
    assert w.pings <= w.writes == len(gaps)
    if gaps:
        assert w.active_from is not None and w.active_to is not None
        assert w.start <= w.active_from <= w.active_to <= w.end


def test_scan_finds_trail_files_and_notices_writes(tmp_path: Path) -> None:
    assert scan_trails(tmp_path / "nope", "trail.txt*").files is None
    (tmp_path / "trail.txt.1").write_text("a")
    (tmp_path / "other.log").write_text("x")
    (tmp_path / "trail.txt.dir").mkdir()
    first = scan_trails(tmp_path, "trail.txt*").files
    assert first is not None and set(first) == {"trail.txt.1"}
    with (tmp_path / "trail.txt.1").open("a") as fh:
        fh.write("more")
    (tmp_path / "trail.txt.2").write_text("b")
    second = scan_trails(tmp_path, "trail.txt*").files
    assert second is not None
    assert written(first, second) == ["trail.txt.1", "trail.txt.2"]
    assert written(second, {}) == []  # deletions are not writes


def test_trail_folder_is_required() -> None:
    with pytest.raises(ConfigError) as err:
        TrailTrackerAgent({})
    assert err.value.field == "params.trail_folder"


def append(path: Path, text: str = "~ Command `ProCmdModelSave`\n") -> None:
    with path.open("a") as fh:
        fh.write(text)


def summaries(harness: AgentHarness) -> list[dict[str, Any]]:
    return [m.data for m in harness.sent if isinstance(m, SummaryMessage)]


def test_agent_on_a_virtual_clock_with_a_real_folder(tmp_path: Path) -> None:
    (tmp_path / "trail.txt.1").write_text("baseline\n")
    harness = AgentHarness.create(
        TrailTrackerAgent,
        {"trail_folder": str(tmp_path), "min_ping_interval_s": 30, "client_id": "acme"},
    )
    harness.advance(10)
    harness.send({"cmd": "flush"})
    idle = summaries(harness)[-1]
    assert idle["activity_signal"]["keep_alive"] is False  # existing files are a baseline
    assert idle["files_seen"] == 1 and idle["pings"] == 0
    for _ in range(5):  # a write every 10 s for 50 s: writes 5, pings at 0 s and 30 s
        append(tmp_path / "trail.txt.1")
        harness.advance(10)
    (tmp_path / "trail.txt.2").write_text("new session\n")
    harness.advance(2)
    harness.send({"cmd": "flush"})
    busy = summaries(harness)[-1]
    assert busy["schema"] == "trail_tracker.summary.v1"
    assert busy["writes"] == 6
    assert busy["pings"] == 2
    assert busy["files_seen"] == 2 and busy["files_written"] == 2
    assert busy["client_id"] == "acme"
    assert busy["activity_signal"]["mode"] == "active"
    assert busy["activity_signal"]["keep_alive"] is True
    assert busy["window"]["start"] > busy["period"]["start"]  # clipped to the active span
    harness.advance(600)  # past the inactivity threshold
    harness.send({"cmd": "flush"})
    tail = summaries(harness)[-1]
    assert tail["activity_signal"]["keep_alive"] is True  # active until write + 300 s
    assert tail["active_now"] is False
    harness.advance(60)
    harness.send({"cmd": "flush"})
    assert summaries(harness)[-1]["activity_signal"]["keep_alive"] is False


def test_missing_folder_degrades_once_and_recovers(tmp_path: Path) -> None:
    folder = tmp_path / "creo"
    harness = AgentHarness.create(TrailTrackerAgent, {"trail_folder": str(folder)})
    harness.advance(20)
    statuses = [m for m in harness.sent if isinstance(m, StatusMessage)]
    assert [s.health for s in statuses] == ["degraded"]
    assert len([m for m in harness.sent if isinstance(m, ErrorMessage)]) == 1
    folder.mkdir()
    (folder / "trail.txt.1").write_text("x")
    harness.advance(4)
    statuses = [m for m in harness.sent if isinstance(m, StatusMessage)]
    assert [s.health for s in statuses] == ["degraded", "ok"]
    logs = [m.message for m in harness.sent if isinstance(m, LogMessage)]
    assert sum("missing" in text for text in logs) == 1
    assert sum("available again" in text for text in logs) == 1
    harness.send({"cmd": "flush"})
    assert summaries(harness)[-1]["writes"] == 0  # present on return: not interaction


def test_writes_while_stopped_are_not_recorded(tmp_path: Path) -> None:
    (tmp_path / "trail.txt.1").write_text("x\n")
    harness = AgentHarness.create(TrailTrackerAgent, {"trail_folder": str(tmp_path)})
    harness.advance(4)
    harness.send({"cmd": "stop"})
    append(tmp_path / "trail.txt.1")
    harness.advance(10)
    harness.send({"cmd": "start"})
    harness.advance(4)
    harness.send({"cmd": "flush"})
    assert summaries(harness)[-1]["writes"] == 0


def test_widget_escapes_and_shows_state(tmp_path: Path) -> None:
    harness = AgentHarness.create(TrailTrackerAgent, {"trail_folder": str(tmp_path / "<x>")})
    harness.advance(4)
    agent = harness.agent
    assert isinstance(agent, TrailTrackerAgent)
    html = agent.render_widget(WidgetRequest(request_id="r"))
    assert "&lt;x&gt;" in html and "<x>" not in html
    assert "inactive" in html


def test_real_subprocess_counts_appends(data_dir: Path, tmp_path: Path) -> None:
    trail = tmp_path / "trail.txt.3"
    trail.write_text("start\n")
    config = {"trail_folder": str(tmp_path), "min_ping_interval_s": 1, "inactivity_threshold_s": 5}
    with driver_for(NAME, data_dir, config) as driver:
        assert driver.wait_for(lambda line: line.type == "heartbeat", DEADLINE_S)

        def saw_write() -> bool:
            append(trail)
            return bool(flush(driver)["writes"])

        poll(saw_write, DEADLINE_S, step=2.5)
        data = flush(driver)
        assert data["activity_signal"]["keep_alive"] is True  # still within the threshold
        assert data["files_seen"] == 1
        raw = b"".join(line.raw for line in driver.lines)
    assert b"ProCmdModelSave" not in raw  # never trail contents


@pytest.mark.slow
def test_passes_the_conformance_checker(tmp_path: Path) -> None:
    report = run_check(
        agent_argv(NAME),
        CheckOptions(config={"trail_folder": str(tmp_path)}),
        base_env=dict(os.environ),
    )
    assert report.passed, [(r.check, r.result, r.detail) for r in report.rows]


def test_ping_screenshots_are_low_resolution_references(
    data_dir: Path, tmp_path: Path, xvfb: str
) -> None:
    trail = tmp_path / "trail.txt.1"
    trail.write_text("start\n")
    config = {"trail_folder": str(tmp_path), "min_ping_interval_s": 1, "screenshot": True}
    with driver_for(NAME, data_dir, config, extra_env={"DISPLAY": xvfb}) as driver:
        assert driver.wait_for(lambda line: line.type == "heartbeat", DEADLINE_S)
        shots: list[dict[str, Any]] = []

        def saw_screenshot() -> bool:
            append(trail)
            shots.extend(flush(driver)["screenshots"])
            return bool(shots)

        poll(saw_screenshot, DEADLINE_S, step=2.5)
    instance = data_dir / "agents" / NAME / "inst-1"
    path = instance / "artifacts" / shots[0]["rel_path"]
    assert path.stat().st_size == shots[0]["bytes"]
    assert shots[0]["mime"] == "image/jpeg"
    with Image.open(path) as image:
        assert max(image.size) <= 640
