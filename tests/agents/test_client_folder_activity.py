"""client_folder_activity as a real subprocess on real folders."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mimolo.protocol.messages import HeartbeatMessage
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentDriver, is_type

from ._support import (
    DEADLINE_S,
    agent_argv,
    driver_for,
    flush,
    is_health,
    is_log,
    logs,
    poll,
)

NAME = "client_folder_activity"


def start_watching(driver: AgentDriver) -> None:
    """Wait until the started agent's watch is in place."""
    assert driver.wait_for(is_log("watching"), DEADLINE_S) is not None, driver.stderr


def collect(driver: AgentDriver, until: Any, timeout: float = DEADLINE_S) -> list[dict[str, Any]]:
    """Flush repeatedly until ``until(summaries)`` holds; return every summary's data."""
    summaries: list[dict[str, Any]] = []

    def step() -> bool:
        summaries.append(flush(driver))
        return bool(until(summaries))

    poll(step, timeout, step=0.5)
    return summaries


def total_counts(summaries: list[dict[str, Any]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for data in summaries:
        out.update(data["counts"])
    return out


def test_create_modify_delete_rename_are_counted_with_relative_paths(
    data_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "client-work"
    (work / "drawings").mkdir(parents=True)
    (work / "notes.txt").write_text("old")
    (work / "gone.txt").write_text("bye")
    (work / "drawings" / "part.dwg").write_bytes(b"x" * 100)
    (work / ".git").mkdir()
    config = {
        "watch_paths": [str(work)],
        "client_id": "acme",
        "client_name": "ACME Ltd",
        "coalesce_window_s": 0.2,
    }
    with driver_for(NAME, data_dir, config) as driver:
        start_watching(driver)
        assert flush(driver)["counts"]["total"] == 0  # existing files are the baseline
        (work / "new.py").write_text("print(1)")
        (work / "notes.txt").write_text("changed")
        (work / "gone.txt").unlink()
        (work / "drawings" / "part.dwg").rename(work / "part-v2.dwg")
        (work / ".git" / "index").write_text("ignored")
        (work / "swap.swp").write_text("ignored")
        summaries = collect(driver, lambda s: total_counts(s)["total"] >= 4)
        raw = b"".join(line.raw for line in driver.lines)
    counts = total_counts(summaries)
    assert (counts["created"], counts["modified"], counts["deleted"], counts["renamed"]) == (
        1,
        1,
        1,
        1,
    )
    data = summaries[-1]
    assert data["schema"] == "client_folder_activity.summary.v1"
    assert data["client_id"] == "acme" and data["client_name"] == "ACME Ltd"
    assert set(data["window"]) == {"start", "end"}
    samples = [s for d in summaries for s in d["path_samples"]]
    by_path = {s["path"]: s for s in samples}
    assert by_path["part-v2.dwg"]["from"] == "drawings/part.dwg"
    assert set(by_path) == {"new.py", "notes.txt", "gone.txt", "part-v2.dwg"}
    active = [d for d in summaries if d["counts"]["total"]]
    assert all(
        d["activity_signal"]
        == {"mode": "active", "keep_alive": True} | {"reason": d["activity_signal"]["reason"]}
        for d in active
    )
    assert summaries[0]["activity_signal"]["keep_alive"] is False
    assert str(tmp_path).encode() not in raw  # relative paths only, never absolute
    assert b"changed" not in raw and b"print(1)" not in raw  # never contents


def test_missing_and_restored_watch_path_logged_once_per_transition(
    data_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "later"
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "existing.txt").write_text("already here")
    config = {"watch_paths": [str(work)], "coalesce_window_s": 0.2}
    with driver_for(NAME, data_dir, config) as driver:
        assert driver.wait_for(is_health("degraded"), DEADLINE_S) is not None
        mark = driver.mark()
        # Several heartbeats pass while missing: still exactly one log line.
        for _ in range(3):
            assert driver.wait_for(is_type("heartbeat"), DEADLINE_S, after=driver.mark())
        assert len(logs(driver, "watch path missing")) == 1
        staging.rename(work)  # the folder appears with a file already in it
        assert driver.wait_for(is_log("watch path restored"), DEADLINE_S, after=mark)
        assert driver.wait_for(is_health("ok"), DEADLINE_S, after=mark)
        assert driver.wait_for(is_log("watching"), DEADLINE_S, after=mark)
        assert flush(driver)["counts"]["created"] == 0  # restored contents are a baseline
        (work / "fresh.txt").write_text("new")
        assert collect(driver, lambda s: total_counts(s)["created"] >= 1)
        shutil.rmtree(work)
        assert driver.wait_for(is_log("watch path missing"), DEADLINE_S, after=mark)
        for _ in range(3):
            assert driver.wait_for(is_type("heartbeat"), DEADLINE_S, after=driver.mark())
        assert len(logs(driver, "watch path missing")) == 2
        assert len(logs(driver, "watch path restored")) == 1


def heartbeat_metrics(driver: AgentDriver) -> dict[str, Any]:
    line = driver.wait_for(is_type("heartbeat"), DEADLINE_S, after=driver.mark())
    assert line is not None and isinstance(line.message, HeartbeatMessage)
    assert isinstance(line.message.metrics, dict)
    return line.message.metrics


def test_ten_thousand_file_burst_is_bounded_and_drops_are_counted_while_stopped(
    data_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "burst"
    work.mkdir()
    config = {
        "watch_paths": [str(work)],
        "poll_fallback": True,  # polling diffs snapshots: exact counts at any burst size
        "poll_interval_s": 0.3,
        "coalesce_window_s": 0.2,
        "emit_path_samples_limit": 5,
        "max_pending_changes": 100,
    }
    with driver_for(NAME, data_dir, config) as driver:
        start_watching(driver)
        for i in range(10_000):
            (work / f"f{i:05}.dat").write_bytes(b"")
        summaries = collect(driver, lambda s: total_counts(s)["created"] >= 10_000, 60)
        assert total_counts(summaries)["created"] == 10_000
        assert all(len(d["path_samples"]) <= 5 for d in summaries)
        assert all(len(d["top_extensions"]) <= 10 for d in summaries)
        metrics = heartbeat_metrics(driver)
        assert metrics["pending_changes"] <= 100
        assert metrics["mem_mb"] < 150
        # Stopped: nothing is recorded, every event is counted as dropped.
        mark = driver.mark()
        driver.send({"cmd": "stop"})
        assert driver.wait_for(lambda line: line.type == "ack", DEADLINE_S, after=mark)
        for i in range(10_000):
            (work / f"f{i:05}.dat").unlink()
        poll(lambda: heartbeat_metrics(driver)["events_dropped"] >= 10_000, 60)
        driver.send({"cmd": "start"})
        stopped = collect(driver, lambda s: sum(d["dropped_events"] for d in s) >= 10_000)
        assert sum(d["dropped_events"] for d in stopped) == 10_000
        assert total_counts(stopped)["total"] == 0
        assert heartbeat_metrics(driver)["tracked_files"] == 0


def test_data_root_inside_a_watch_path_is_warned_about_once_and_ignored(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    data_dir = home / "mimolo-data"
    data_dir.mkdir(parents=True, mode=0o700)
    config = {"watch_paths": [str(home)], "coalesce_window_s": 0.2}
    with driver_for(NAME, data_dir, config) as driver:
        start_watching(driver)
        (data_dir / "operations").mkdir(exist_ok=True)
        (data_dir / "operations" / "evidence.jsonl").write_text("{}")
        (home / "real-work.txt").write_text("x")
        summaries = collect(driver, lambda s: total_counts(s)["created"] >= 1)
        assert total_counts(summaries)["created"] == 1
        assert [s["path"] for d in summaries for s in d["path_samples"]] == ["real-work.txt"]
        assert len(logs(driver, "overlaps the MiMoLo data root")) == 1


def test_widget_lists_recent_changes_newest_first_escaped(data_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    config = {"watch_paths": [str(work)], "coalesce_window_s": 0.1, "client_name": "<b>Bob</b>"}
    with driver_for(NAME, data_dir, config) as driver:
        start_watching(driver)
        (work / "first.txt").write_text("1")
        collect(driver, lambda s: total_counts(s)["created"] >= 1)
        (work / "second <i>&.txt").write_text("2")
        collect(driver, lambda s: total_counts(s)["created"] >= 1)
        mark = driver.mark()
        driver.send({"cmd": "widget_render", "args": {"request_id": "r-1"}})
        frame = driver.wait_for(is_type("widget_frame"), DEADLINE_S, after=mark)
    assert frame is not None and frame.message is not None
    html = frame.message.data.html  # type: ignore[union-attr]
    assert "&lt;b&gt;Bob&lt;/b&gt;" in html and "<b>" not in html
    assert "second &lt;i&gt;&amp;.txt" in html
    assert html.index("second") < html.index("first.txt")
    assert str(tmp_path) not in html


def test_invalid_configuration_exits_with_a_clear_message(data_dir: Path) -> None:
    with driver_for(NAME, data_dir, {"watch_paths": [], "bogus": 1}) as driver:
        assert driver.wait_exit(DEADLINE_S) == 2
        assert driver.wait_stdout_closed(DEADLINE_S)
        assert b"params." in driver.stderr


@pytest.mark.slow
def test_passes_the_conformance_checker(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    report = run_check(
        agent_argv(NAME),
        CheckOptions(config={"watch_paths": [str(tmp_path / "w")]}, max_idle_cpu_percent=5.0),
        base_env=dict(os.environ),
    )
    assert report.passed, [(r.check, r.result, r.detail) for r in report.rows]
