"""The Operations link: backoff, the ``available`` flag, and failing fast while down."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimolo.control.diagnostics_tail import filter_records, read_diagnostics_files, tail_records
from mimolo.control.ops_link import OpsLink
from mimolo.dataroot import DataRoot
from mimolo.errors import OperationsUnavailable


@pytest.mark.anyio
async def test_no_socket_means_unavailable_and_requests_fail_fast(tmp_path: Path) -> None:
    link = OpsLink(tmp_path / "ops.sock", backoff_initial_s=0.25, backoff_max_s=2.0)
    assert await link.probe() is False
    assert link.available is False
    assert link.last_error and "not running" in link.last_error
    assert link.next_delay() == 0.25
    await link.probe()
    assert link.next_delay() == 0.5
    with pytest.raises(OperationsUnavailable):
        await link.request("get_agent_states")


@pytest.mark.anyio
async def test_a_socket_nobody_answers_on_is_unavailable(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "ops.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # a stale socket file: connection refused
    link = OpsLink(path)
    assert await link.probe() is False
    assert link.available is False


RECORDS = [
    {"ts": "2026-03-04T09:00:00Z", "kind": "lifecycle", "instance_id": "a", "message": "start"},
    {"ts": "2026-03-04T09:00:01Z", "kind": "heartbeat", "instance_id": "a"},
    {"ts": "2026-03-04T09:00:02Z", "kind": "log", "instance_id": "b", "level": "debug"},
    {"ts": "2026-03-04T09:00:03Z", "kind": "error", "instance_id": "b", "message": "boom"},
    {"ts": "2026-03-04T09:00:04Z", "kind": "log", "instance_id": "a", "level": "warning"},
]


def test_log_filters() -> None:
    assert [r["ts"][-3:-1] for r in filter_records(RECORDS)] == ["04", "03", "02", "00"]
    assert len(filter_records(RECORDS, heartbeats=True)) == 5
    assert [r["kind"] for r in filter_records(RECORDS, instance_id="b")] == ["error", "log"]
    assert [r["kind"] for r in filter_records(RECORDS, min_level="warning")] == ["log", "error"]
    assert len(filter_records(RECORDS, limit=2)) == 2
    assert tail_records({"records": RECORDS}) == RECORDS
    assert tail_records({"nothing": 1}) == []


def test_diagnostics_files_are_read_when_operations_is_down(tmp_path: Path) -> None:
    import json
    from datetime import date

    root = DataRoot.resolve(tmp_path / "root").ensure()
    day = date(2026, 3, 4)
    lines = [json.dumps(r) for r in RECORDS] + ['{"torn":']
    root.diagnostics_file(day).write_text("\n".join(lines) + "\n")
    records = read_diagnostics_files(root, day)
    assert len(records) == 6
    assert records[-1]["kind"] == "torn_line"
