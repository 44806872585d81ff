"""mimolo.testing: the fake Operations copes with hostile agents; the virtual clock."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimolo.testing import AgentDriver, VirtualClock, agent_environment, is_type

WAIT = 30.0

HOSTILE = r"""
import json, sys
hb = {"type": "heartbeat", "timestamp": "2026-01-05T09:00:00+00:00",
      "agent_id": "a", "agent_label": "A", "agent_version": "1"}
out = sys.stdout.buffer
out.write(b"x" * 5000 + b"\n")
out.write(json.dumps(hb).encode() + b"\n")
out.write(b"\xff\xfe\n")
out.write(json.dumps(hb).encode())  # no trailing newline
out.flush()
"""


def test_driver_records_oversized_garbage_and_a_final_partial_line() -> None:
    with AgentDriver([sys.executable, "-c", HOSTILE], max_line_bytes=1000) as driver:
        assert driver.wait_exit(WAIT) == 0
        assert driver.wait_stdout_closed(WAIT)
    reasons = [ln.rejected.reason if ln.rejected else ln.type for ln in driver.lines]
    assert reasons == ["oversized", "heartbeat", "not_json", "heartbeat"]
    assert len(driver.messages()) == 2
    assert driver.send_raw(b"{}\n") is False  # gone: no exception
    assert driver.kill() == 0  # idempotent after exit


def test_wait_for_returns_none_on_timeout_and_after_eof(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=60)
    argv = [sys.executable, "-m", "mimolo.agents.agent_template"]
    with AgentDriver(argv, env=env) as driver:
        assert driver.wait_for(is_type("handshake"), WAIT) is not None
        assert driver.wait_for(is_type("summary"), 0.2) is None
        driver.close_stdin()
        assert driver.wait_exit(WAIT) == 0
        assert driver.wait_stdout_closed(WAIT)
        assert driver.wait_for(lambda _line: False, 3600) is None  # stdout closed: no wait


def test_environment_is_complete_and_private(tmp_path: Path) -> None:
    env = agent_environment(
        tmp_path, plugin_id="p", instance_id="i-1", label="L", config={"a": 1}, base={}
    )
    assert env == {
        "MIMOLO_DATA_DIR": str(tmp_path),
        "MIMOLO_INSTANCE_DIR": str(tmp_path / "agents" / "p" / "i-1"),
        "MIMOLO_PLUGIN_ID": "p",
        "MIMOLO_INSTANCE_ID": "i-1",
        "MIMOLO_AGENT_ID": "i-1",
        "MIMOLO_AGENT_LABEL": "L",
        "MIMOLO_HEARTBEAT_INTERVAL_S": "1.0",
        "MIMOLO_AGENT_CONFIG": '{"a": 1}',
    }
    assert (tmp_path / "agents" / "p" / "i-1").stat().st_mode & 0o777 == 0o700


def test_empty_command_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        AgentDriver([])


def test_virtual_clock_moves_only_when_told() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = VirtualClock(start)
    mono = clock.monotonic()
    assert clock.now() == start and clock.now() == start
    clock.advance(2.5)
    assert clock.now() == start + timedelta(seconds=2.5)
    assert clock.monotonic() == mono + 2.5
