"""The daily batch writer shared by the ledger and diagnostics: group commit, fsync, close."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import anyio
import pytest

from mimolo.operations.jsonl_files import DailyBatchWriter

DAY1 = date(2026, 1, 1)
DAY2 = date(2026, 1, 2)


def path_for(tmp_path: Path) -> DailyBatchWriter:
    return DailyBatchWriter(lambda day: tmp_path / f"{day:%Y%m%d}.test.jsonl")


def read(tmp_path: Path, day: date) -> bytes:
    return (tmp_path / f"{day:%Y%m%d}.test.jsonl").read_bytes()


def test_add_only_queues(tmp_path: Path) -> None:
    batch = path_for(tmp_path)
    assert batch.add(DAY1, b"1\n") == 1
    assert batch.add(DAY1, b"2\n") == 2
    assert batch.pending_count == 2
    assert list(tmp_path.iterdir()) == []
    batch.close()


def test_commit_writes_once_per_day_file_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed: list[int] = []
    batch = DailyBatchWriter(
        lambda day: tmp_path / f"{day:%Y%m%d}.test.jsonl", on_commit=committed.append
    )
    for n, day in enumerate([DAY2, DAY1, DAY2, DAY1, DAY2]):
        batch.add(day, f"{n}\n".encode())
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes | memoryview) -> int:
        writes.append(fd)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    assert batch.commit() == 5
    monkeypatch.undo()
    assert len(writes) == 2  # (day 1's file is closed once day 2 is written: fds may repeat)
    assert read(tmp_path, DAY1) == b"1\n3\n"
    assert read(tmp_path, DAY2) == b"0\n2\n4\n"
    assert batch.pending_count == 0
    assert committed == [5]
    assert batch.commit() == 0
    assert committed == [5]  # nothing written, no callback
    batch.close()


def test_files_are_private(tmp_path: Path) -> None:
    batch = path_for(tmp_path)
    batch.add(DAY1, b"x\n")
    batch.close()
    assert (tmp_path / "20260101.test.jsonl").stat().st_mode & 0o077 == 0


def test_sync_counts_only_rounds_with_writes(tmp_path: Path) -> None:
    batch = path_for(tmp_path)
    batch.sync()
    assert batch.syncs == 0
    batch.add(DAY1, b"x\n")
    batch.commit()
    batch.sync()
    assert batch.syncs == 1
    batch.sync()  # nothing new written
    assert batch.syncs == 1
    batch.close()


@pytest.mark.anyio
async def test_sync_off_loop(tmp_path: Path) -> None:
    batch = path_for(tmp_path)
    batch.add(DAY1, b"x\n")
    batch.commit()
    await batch.sync_off_loop()
    assert batch.syncs == 1
    async with anyio.create_task_group() as tg:  # another day, fsynced off the loop too
        batch.add(DAY2, b"y\n")
        batch.commit()
        tg.start_soon(batch.sync_off_loop)
    assert batch.syncs == 2
    batch.close()
    assert read(tmp_path, DAY2) == b"y\n"


def test_close_commits_what_is_pending_and_appends_later(tmp_path: Path) -> None:
    batch = path_for(tmp_path)
    batch.add(DAY1, b"a\n")
    batch.close()
    assert read(tmp_path, DAY1) == b"a\n"
    again = path_for(tmp_path)
    again.add(DAY1, b"b\n")
    again.close()
    assert read(tmp_path, DAY1) == b"a\nb\n"
