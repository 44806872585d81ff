"""The ledger's snapshot: checkpoints before day files, verified in staging, copied again
when a day closed between the two reads (the one race a single pass can lose)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence._ledgers import FIRST_DAY, checkpoint_of, write_days
from mimolo.backup.ledger_copy import copy_order, snapshot_ledger
from mimolo.backup.select import EVIDENCE_DIR, in_evidence
from mimolo.backup.source import Listed, last_line_end, walk_root
from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import host_public_key_path


@pytest.fixture
def root() -> Iterator[DataRoot]:
    path = Path(tempfile.mkdtemp(prefix="mbak-", dir="/tmp"))
    try:
        root = DataRoot(path / "root").ensure()
        write_days(root, days=3, per_day=5)
        yield root
    finally:
        shutil.rmtree(path, ignore_errors=True)


def evidence_items(root: DataRoot) -> list[Listed]:
    return [item for item in walk_root(root.root).files if in_evidence(item.rel)]


def test_a_day_closing_between_the_reads_is_copied_again(root: DataRoot) -> None:
    day2 = checkpoint_of(root, 1).relative_to(root.root).as_posix()
    calls: list[int] = []
    sleeps: list[float] = []

    def listing() -> list[Listed]:
        calls.append(1)
        items = evidence_items(root)
        if len(calls) == 1:  # the first pass saw day 3 but not yet day 2's close
            return [i for i in items if i.rel.as_posix() != day2]
        return items

    staging = root.root.parent / "staging"
    staged, state = snapshot_ledger(
        listing, staging, EVIDENCE_DIR, host_public_key_path(root), sleep=sleeps.append
    )
    assert len(calls) == 2 and len(sleeps) == 1
    assert state.verified and state.last_seq == 15 and state.problems == []
    assert day2 in {s.rel.as_posix() for s in staged}


def test_a_ledger_that_never_verifies_is_kept_with_its_problems(root: DataRoot) -> None:
    day1 = root.evidence_file(FIRST_DAY)
    lines = day1.read_bytes().splitlines(keepends=True)
    day1.write_bytes(b"".join([lines[0], lines[2], *lines[3:]]))  # a deleted record
    sleeps: list[float] = []
    _, state = snapshot_ledger(
        lambda: evidence_items(root),
        root.root.parent / "staging",
        EVIDENCE_DIR,
        host_public_key_path(root),
        attempts=3,
        sleep=sleeps.append,
    )
    assert not state.verified and len(sleeps) == 2
    assert any(p.startswith("deleted ") for p in state.problems)


def test_checkpoints_are_read_before_the_day_files(root: DataRoot) -> None:
    names = [item.rel.name for item in copy_order(evidence_items(root))]
    kinds = ["checkpoint" if n.endswith(".checkpoint.json") else "day" for n in names]
    assert kinds == ["checkpoint"] * 3 + ["day"] * 3


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"", 0),
        (b"abc", 0),
        (b"a\n", 2),
        (b"a\nb\nc", 4),
        (b"x" * 200_000 + b"\n" + b"y" * 70_000, 200_001),
    ],
)
def test_last_line_end(tmp_path: Path, data: bytes, end: int) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert last_line_end(fd, len(data)) == end
    finally:
        os.close(fd)
