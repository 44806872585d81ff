"""Diagnostics: bounded records in daily files, retention, in-memory tail."""

from __future__ import annotations

from datetime import date

import anyio
import msgspec
import pytest

from mimolo.dataroot import DataRoot
from mimolo.operations.diagnostics import MAX_TEXT, Diagnostics, remove_expired


def _read(data_root: DataRoot) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path in sorted(data_root.diagnostics_dir.glob("*.diagnostics.jsonl")):
        out += [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]
    return out


def test_records_are_written_with_kind_and_bounded_text(data_root: DataRoot) -> None:
    diag = Diagnostics(data_root)
    diag.open()
    diag.record("log", instance_id="a1", level="info", message="hello")
    diag.record("stderr", instance_id="a1", line="x" * (MAX_TEXT * 3))
    diag.record("audit", action="config_change", detail={"k": [1, 2, 3]})
    diag.close()
    records = _read(data_root)
    assert [r["kind"] for r in records] == ["log", "stderr", "audit"]
    assert records[0]["instance_id"] == "a1"
    assert records[0]["level"] == "info"
    assert str(records[0]["ts"]).endswith("Z")
    assert len(str(records[1]["line"])) < MAX_TEXT + 100
    assert diag.tail(2)[-1]["kind"] == "audit"
    assert [r["kind"] for r in diag.tail(10, instance_id="a1")] == ["log", "stderr"]


def test_unencodable_values_do_not_raise(data_root: DataRoot) -> None:
    diag = Diagnostics(data_root)
    diag.open()
    diag.record("policy", weird=object())
    diag.close()
    assert _read(data_root)[0]["kind"] == "policy"


def test_full_queue_drops_and_counts(data_root: DataRoot) -> None:
    diag = Diagnostics(data_root, max_pending=5)
    diag.open()
    for i in range(8):
        diag.record("log", message=str(i))
    assert diag.dropped == 3
    diag.close()
    assert len(_read(data_root)) == 5


def test_retention_removes_only_old_files(data_root: DataRoot) -> None:
    old = data_root.diagnostics_file(date(2026, 1, 1))
    keep = data_root.diagnostics_file(date(2026, 1, 25))
    other = data_root.diagnostics_dir / "notes.txt"
    for path in (old, keep, other):
        path.write_text("{}\n")
    removed = remove_expired(data_root, 10, date(2026, 1, 30))
    assert removed == [old]
    assert keep.exists() and other.exists() and not old.exists()


@pytest.mark.anyio
async def test_run_writes_batches(data_root: DataRoot) -> None:
    diag = Diagnostics(data_root, flush_interval_s=0.05)
    diag.open()
    async with anyio.create_task_group() as tg:
        tg.start_soon(diag.run)
        diag.record("lifecycle", event="started")
        with anyio.fail_after(20):
            while diag.written == 0:
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
    assert _read(data_root)[0]["event"] == "started"
