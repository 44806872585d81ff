"""SIGKILL of Operations mid-write, then a restart: every record Operations acknowledged
is on disk, a torn tail is quarantined and seq continues, and what the killed
Operations' agents left behind is ended by the next start."""

from __future__ import annotations

import time

import pytest

from faults._accounting import assert_ledger_intact, diagnostics_records
from faults._ops import (
    PLUGIN,
    Pinger,
    assert_no_orphans,
    assert_pinger_ok,
    ipc,
    wait_states,
)
from faults.conftest import StartOps
from faults.test_containment import descendant_pids, wait_dead, wait_file
from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import load_public_key, read_checkpoints, verify
from mimolo.operations.host_key import host_public_key_path
from mimolo.operations.jsonl_files import quarantine_path
from mimolo.operations.ledger import evidence_files

pytestmark = pytest.mark.slow

WRITERS = {f"writer-{i}": {"mode": "flood", "flood_type": "summary"} for i in range(3)}
INSTANCES = {**WRITERS, "spawner": {"mode": "spawn", "count": 1}}
# Let the summary floods reach the ledger fast, so the kill lands mid-write.
BUSY_LEDGER = {
    "summary_rate_limit_per_s": 2000.0,
    "summary_rate_limit_burst": 2000,
    "evidence_bytes_per_s": 16.0 * 2**20,
    "evidence_bytes_burst": 16 * 2**20,
}
TORN = b'{"seq":999999999,"id":"torn-by-the-test","rec'


def acknowledged_seq(root: DataRoot) -> int:
    """The highest seq Operations reported durable.

    ``get_status.ledger_durable_seq`` when Operations reports it; until then the last
    appended seq, taken as acknowledged once Operations has answered again 2 s later
    (40 group commits at the 50 ms interval used here).
    """
    status = ipc(root, "get_status")
    if "ledger_durable_seq" in status:
        return int(status["ledger_durable_seq"])
    seq = int(status["ledger_last_seq"])
    time.sleep(2.0)
    ipc(root, "ping")
    return seq


def test_sigkill_mid_write_loses_no_acknowledged_record(
    root: DataRoot, start_ops: StartOps
) -> None:
    ops = start_ops(INSTANCES, **BUSY_LEDGER)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(INSTANCES, ("running",)))
        wait_file(root.instance_dir(PLUGIN, "spawner") / "descendants.pids")
        time.sleep(1.0)
        acked = acknowledged_seq(root)
        assert acked > 0, "nothing reached the ledger"
        left_behind = descendant_pids(root, "spawner")
        pinger.pause()
        ops.sigkill()
        newest = evidence_files(root)[-1]
        with open(newest, "ab") as fh:
            fh.write(TORN)  # as if the kill had landed inside a write
        ops = start_ops()
        pinger.resume(ops.pid)
        wait_states(root, dict.fromkeys(INSTANCES, ("running",)))
        left = wait_dead(left_behind)
        assert not left, f"the restart did not end what the killed Operations left: {left}"
        time.sleep(1.0)
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
    records = assert_ledger_intact(root)  # seq continues after the quarantined tail
    assert records[-1]["seq"] > acked, "nothing was written after the restart"
    seqs = {r["seq"] for r in records}
    missing = [s for s in range(1, acked + 1) if s not in seqs]
    assert not missing, f"acknowledged records lost: {missing[:10]}"
    quarantined = quarantine_path(newest)
    assert quarantined.exists(), "the torn tail was not quarantined"
    assert TORN in quarantined.read_bytes()
    events = [r.get("event") for r in diagnostics_records(root) if r["kind"] == "lifecycle"]
    assert "ledger_torn_tail" in events
    # the chain survives the kill: the torn bytes are outside it, a chain_resume names them
    report = verify(root.evidence_dir, load_public_key(host_public_key_path(root)))
    assert report.ok, report.problems[:5]
    assert report.records == len(records) and report.checkpoints >= 2
    resumes = [
        entry
        for path in root.evidence_dir.glob("*/*.checkpoint.json")
        for entry in read_checkpoints(path)
        if entry["kind"] == "chain_resume"
    ]
    assert any(q["file"] == newest.name for r in resumes for q in r["quarantined"]), resumes
