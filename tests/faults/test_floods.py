"""Floods of every message type under the real ``mimolo ops``: Operations stays
responsive and bounded, stops on time, leaves nothing behind and counts every drop."""

from __future__ import annotations

import time

import pytest

from faults._accounting import (
    assert_every_drop_counted,
    assert_ledger_intact,
    assert_summary_drops_reported,
    sent_by,
)
from faults._ops import (
    Pinger,
    agent_states,
    assert_no_orphans,
    assert_pinger_ok,
    wait_states,
)
from faults.conftest import StartOps
from mimolo.dataroot import DataRoot

pytestmark = pytest.mark.slow

FLOOD_TYPES = ("ack", "log", "status", "error", "heartbeat", "widget_frame", "summary")
FLOOD_S = 8.0


def test_a_flood_of_every_type_at_once(root: DataRoot, start_ops: StartOps) -> None:
    instances = {
        f"flood-{t.replace('_', '-')}": {"mode": "flood", "flood_type": t} for t in FLOOD_TYPES
    }
    instances["bystander"] = {"mode": "good"}
    ops = start_ops(instances)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(instances, ("running",)))
        time.sleep(FLOOD_S)
        states = agent_states(root)  # the answer fits whatever the floods did to state
        assert all(states[iid]["state"] == "running" for iid in instances), states
        assert all(states[iid]["restarts"] == 0 for iid in instances)
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
    for iid in instances:
        assert sent_by(root, iid).runs == 1, f"{iid} was restarted"
    balances = assert_every_drop_counted(root, instances)
    flood = {b.iid: b for b in balances}
    assert flood["flood-summary"].sent > 1000, "the summary flood barely ran"
    assert_summary_drops_reported(root, instances)
    records = assert_ledger_intact(root)
    # the bystander's final summary (its stop sequence) is evidence and is never lost
    assert any(r["instance_id"] == "bystander" for r in records)
