"""The conformance checker against real subprocesses: SDK agents, upstream v0.3, broken ones."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import msgspec
import psutil
import pytest

from mimolo.sdk.conformance import CHECKS, CheckOptions, CheckReport, run_check
from sdk.corpus import BROKEN, PATIENT, UPSTREAM_V03, module, script

pytestmark = pytest.mark.slow

# Broken agents wait out some timeouts on purpose; keep those short but not flaky.
IMPATIENT = msgspec.structs.replace(PATIENT, timeout_s=8.0, heartbeat_grace_s=4.0)


def results(report: CheckReport) -> dict[str, str]:
    return {row.check: row.result for row in report.rows}


@pytest.mark.parametrize("agent", ["mimolo.agents.agent_example", "mimolo.agents.agent_template"])
def test_sdk_agents_pass_every_check(agent: str) -> None:
    report = run_check(module(agent), PATIENT)
    assert report.passed, report.rows
    got = results(report)
    assert [row.check for row in report.rows] == list(CHECKS)
    assert all(got[c] == "PASS" for c in CHECKS if c != "widget")
    assert got["widget"] == ("PASS" if agent.endswith("example") else "SKIP")
    assert report.lines_invalid == 0 and report.exit_code == 0
    assert report.peak_rss_mb is not None and report.idle_cpu_percent is not None


def test_upstream_v03_agent_passes_with_a_status_warning() -> None:
    report = run_check(script(UPSTREAM_V03), msgspec.structs.replace(PATIENT, timeout_s=3.0))
    got = results(report)
    assert report.passed, report.rows
    assert got["status"] == "WARN"
    assert got["handshake"] == got["flush"] == got["sequence"] == got["shutdown"] == "PASS"
    assert "v0.3 order" in report.row("flush").detail
    assert "log" in report.row("shutdown").detail
    # Every line it wrote decodes cleanly.
    assert got["stdout"] == got["schema"] == "PASS"
    assert report.lines_invalid == 0 and report.lines_total >= 8


@pytest.mark.parametrize(
    ("name", "failing", "detail"),
    [
        ("no_handshake", "handshake", "first line is heartbeat"),
        ("garbage_stdout", "stdout", "hello from a debug print"),
        ("ignores_shutdown", "shutdown", "still running"),
        ("wrong_sequence_order", "sequence", "got ACK stop, ACK flush, summary"),
        ("never_heartbeats", "heartbeat", "no heartbeat"),
        ("invalid_schema_line", "schema", "invalid_value at health"),
    ],
)
def test_broken_agents_fail_the_right_row(name: str, failing: str, detail: str) -> None:
    report = run_check(script(BROKEN / f"{name}.py"), IMPATIENT)
    assert not report.passed
    failed = [row for row in report.rows if row.result == "FAIL"]
    assert [row.check for row in failed] == [failing], report.rows
    assert detail in failed[0].detail


def test_the_unbroken_mini_agent_passes() -> None:
    """The corpus base passes, so each broken script fails for its one defect only."""
    report = run_check(script(BROKEN / "mini_agent.py"), PATIENT)
    assert report.passed, report.rows


def test_a_command_that_cannot_start_fails_cleanly() -> None:
    report = run_check(["/nonexistent/agent-binary"], CheckOptions(timeout_s=1))
    assert not report.passed
    assert report.rows[0].check == "handshake" and "cannot start" in report.rows[0].detail


def test_an_agent_that_exits_at_once_fails_the_handshake() -> None:
    report = run_check([sys.executable, "-c", "raise SystemExit(3)"], CheckOptions(timeout_s=20))
    assert results(report)["handshake"] == "FAIL"
    assert "exited with code 3 before a handshake" in report.row("handshake").detail
    assert report.exit_code == 3


def test_idle_cpu_limit_fails_a_busy_agent() -> None:
    report = run_check(
        module("mimolo.agents.agent_example"),
        msgspec.structs.replace(PATIENT, max_idle_cpu_percent=-1.0),
    )
    assert results(report)["resources"] == "FAIL"


SPAWNER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(os.environ["CHILD_PID_FILE"], "w") as fh:
    fh.write(str(child.pid))
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_silent_agent_and_its_children_are_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    env = {**os.environ, "CHILD_PID_FILE": str(pid_file)}
    report = run_check([sys.executable, "-c", SPAWNER], CheckOptions(timeout_s=3), base_env=env)
    assert results(report)["handshake"] == "FAIL"
    assert "no output within 3 s" in report.row("handshake").detail
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(child)
