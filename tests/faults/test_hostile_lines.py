"""Hostile lines under the real ``mimolo ops``: 1 MiB / 10 MiB / endless lines, invalid
UTF-8, NULs, nesting 1,000 and 100,000 levels deep, a summary in the handshake's write,
a summary burst at start and 256 KiB heartbeat metrics. Each line is rejected and
counted (or kept); no agent dies of it; the answers stay within their caps."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from faults._accounting import (
    assert_every_drop_counted,
    assert_ledger_intact,
    final_states,
    sent_by,
)
from faults._ops import (
    Pinger,
    agent_states,
    assert_no_orphans,
    assert_pinger_ok,
    ipc,
    wait_states,
)
from faults.conftest import StartOps
from mimolo.cli import cli
from mimolo.dataroot import DataRoot

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
LINES = {
    "lines-1m": {"mode": "huge_lines", "line_bytes": MIB, "count": 3},
    "lines-10m": {"mode": "huge_lines", "line_bytes": 10 * MIB, "count": 2},
    "bad-utf8": {"mode": "invalid_utf8", "count": 5},
    "nuls": {"mode": "nul", "count": 5},
    "deep-1k": {"mode": "deep", "depth": 1000, "count": 2},
    "deep-100k": {"mode": "deep", "depth": 100_000, "count": 1},
    "handshake-summary": {"mode": "handshake_summary"},
    "burst": {"mode": "burst", "count": 150},
}
BIG_HEARTBEATS = {f"big-beat-{i}": {"mode": "big_heartbeat"} for i in range(5)}
ENDLESS = {"endless": {"mode": "endless"}}


def cli_ok(root: DataRoot, *args: str) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*args, "--data-dir", str(root.root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output


def test_hostile_lines_are_counted_and_never_kill_a_reader(
    root: DataRoot, start_ops: StartOps
) -> None:
    instances = {**LINES, **BIG_HEARTBEATS, **ENDLESS}
    ops = start_ops(instances)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(instances, ("running",)))
        time.sleep(3.0)  # every misbehaviour is done within moments of the handshake
        for iid in LINES:  # the reader survived: a flush still reaches the ledger
            ipc(root, "flush_agent", instance_id=iid)
        states = agent_states(root)  # fits the answer cap despite 5 x 255 KiB of metrics
        for iid in instances:
            assert states[iid]["state"] == "running", (iid, states[iid])
            assert states[iid]["restarts"] == 0, (iid, states[iid])
        cli_ok(root, "status")
        cli_ok(root, "status", "--json")
        cli_ok(root, "instances", "list")
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
    counted = {b.iid: b for b in assert_every_drop_counted(root, [*LINES, *BIG_HEARTBEATS])}
    final = final_states(root)
    assert final["lines-1m"].rejected_lines.get("oversized") == 3
    assert final["lines-10m"].rejected_lines.get("oversized") == 2
    assert final["endless"].rejected_lines.get("oversized", 0) >= 1
    for iid in ("bad-utf8", "nuls", "deep-1k", "deep-100k"):
        assert sum(final[iid].rejected_lines.values()) + counted[iid].records > 0, iid
    records = assert_ledger_intact(root)
    by_instance = {iid: [r for r in records if r["instance_id"] == iid] for iid in instances}
    for iid in LINES:  # the flush summary (and the stop sequence's) reached the ledger
        assert len(by_instance[iid]) >= 2, (iid, len(by_instance[iid]))
    # the summary sent in the handshake's own write is evidence like any other
    assert any(r["record"]["data"].get("n") == 0 for r in by_instance["handshake-summary"])
    assert sent_by(root, "burst").counts["summary"] >= 150
