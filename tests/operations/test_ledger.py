"""The evidence ledger: wrapped summaries, daily files, group commit, torn-tail recovery."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime

import anyio
import msgspec
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import LedgerError
from mimolo.operations.jsonl_files import quarantine_path
from mimolo.operations.ledger import Ledger, evidence_files
from mimolo.protocol.evidence import EvidenceRecord, view_decoder

SUMMARY = (
    b'{"type":"summary","timestamp":"2026-01-02T10:00:00Z","agent_id":"a1",'
    b'"agent_label":"A","agent_version":"1.0.0","data":{"activity_signal":'
    b'{"mode":"active","keep_alive":true,"reason":null},"n":1.25}}\n'
)
DAY1 = datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC)
DAY2 = datetime(2026, 1, 3, 0, 0, 1, tzinfo=UTC)


def _append(ledger: Ledger, at: datetime = DAY1) -> int:
    return ledger.append(
        plugin_id="agent_example",
        instance_id="a1",
        instance_label="A",
        raw_summary=SUMMARY,
        received_at=at,
    )


def test_records_wrap_the_raw_summary_and_split_by_utc_day(data_root: DataRoot) -> None:
    ledger = Ledger(data_root, host="testhost")
    assert ledger.open().last_seq == 0
    assert [_append(ledger, DAY1), _append(ledger, DAY1), _append(ledger, DAY2)] == [1, 2, 3]
    assert ledger.commit() == 3
    ledger.close()
    day1 = data_root.evidence_file(date(2026, 1, 2))
    day2 = data_root.evidence_file(date(2026, 1, 3))
    assert evidence_files(data_root) == [day1, day2]
    assert stat.S_IMODE(day1.stat().st_mode) == 0o600
    lines = day1.read_bytes().splitlines()
    assert len(lines) == 2
    # the agent's bytes are kept verbatim inside the record
    assert SUMMARY.rstrip(b"\n") in lines[0]
    record = msgspec.json.decode(lines[0], type=EvidenceRecord)
    assert (record.seq, record.host, record.instance_id, record.plugin_id) == (
        1,
        "testhost",
        "a1",
        "agent_example",
    )
    assert view_decoder().decode(lines[0]).record.type == "summary"
    ids = {msgspec.json.decode(line)["id"] for line in lines}
    assert len(ids) == 2


def test_seq_continues_across_restarts(data_root: DataRoot) -> None:
    ledger = Ledger(data_root)
    ledger.open()
    for _ in range(5):
        _append(ledger)
    ledger.close()
    again = Ledger(data_root)
    assert again.open().last_seq == 5
    assert _append(again, DAY2) == 6
    again.close()
    third = Ledger(data_root)
    assert third.open().last_seq == 6
    third.close()


@pytest.mark.parametrize(
    "torn",
    [b'{"seq": 3, "id": "x", "rec', b"garbage without newline", b"not json at all\n"],
)
def test_torn_tail_is_quarantined_and_file_truncated(data_root: DataRoot, torn: bytes) -> None:
    ledger = Ledger(data_root)
    ledger.open()
    _append(ledger)
    _append(ledger)
    ledger.close()
    path = data_root.evidence_file(DAY1.date())
    good = path.read_bytes()
    with path.open("ab") as fh:
        fh.write(torn)
    again = Ledger(data_root)
    recovery = again.open()
    assert recovery.last_seq == 2
    assert recovery.quarantined == [str(path)]
    assert path.read_bytes() == good
    qpath = quarantine_path(path)
    assert qpath.read_bytes() == torn.rstrip(b"\n") + b"\n"
    assert stat.S_IMODE(qpath.stat().st_mode) == 0o600
    assert _append(again) == 3
    again.close()
    assert len(path.read_bytes().splitlines()) == 3


def test_append_before_open_is_refused(data_root: DataRoot) -> None:
    with pytest.raises(LedgerError):
        _append(Ledger(data_root))


def test_one_write_per_batch(data_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(data_root)
    ledger.open()
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes | memoryview) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    for _ in range(500):
        _append(ledger)
    monkeypatch.setattr(os, "write", counting_write)
    assert ledger.commit() == 500
    monkeypatch.undo()
    assert len(writes) == 1
    ledger.close()


@pytest.mark.anyio
async def test_run_group_commits_and_fsyncs_within_the_interval(data_root: DataRoot) -> None:
    ledger = Ledger(data_root, fsync_interval_s=0.05)
    ledger.open()
    path = data_root.evidence_file(DAY1.date())
    async with anyio.create_task_group() as tg:
        tg.start_soon(ledger.run)
        for _ in range(100):
            _append(ledger)
        with anyio.fail_after(20):
            while ledger.syncs == 0:
                await anyio.sleep(0.02)
        assert ledger.pending_count == 0
        assert len(path.read_bytes().splitlines()) == 100
        _append(ledger)
        tg.cancel_scope.cancel()
    # cancellation commits and fsyncs what is left
    assert len(path.read_bytes().splitlines()) == 101


@pytest.mark.anyio
async def test_back_pressure_when_pending_is_full(data_root: DataRoot) -> None:
    ledger = Ledger(data_root, max_pending=10)
    ledger.open()
    for _ in range(10):
        _append(ledger)
    with anyio.move_on_after(0.1) as scope:
        await ledger.wait_for_room()
    assert scope.cancelled_caught
    ledger.commit()
    with anyio.fail_after(5):
        await ledger.wait_for_room()
    ledger.close()
