"""The closed-day cache: hits when unchanged, never stale, today always fresh."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.timeline import DayCache, read_evidence

from ._ledger import ledger_line

DAY = date(2026, 3, 2)
TODAY = date(2026, 3, 10)


def line(n: int) -> bytes:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(minutes=n)
    return ledger_line("fa", start, start + timedelta(minutes=1), seq=n)


def test_closed_day_is_served_from_cache(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0) + line(1))
    cache = DayCache()
    first = cache.read(path, DAY, TODAY)
    second = cache.read(path, DAY, TODAY)
    assert first == second and len(first[0]) == 2
    assert (cache.misses, cache.hits) == (1, 1)
    assert second[0] is first[0]


def test_appended_file_is_reread(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0))
    cache = DayCache()
    assert len(cache.read(path, DAY, TODAY)[0]) == 1
    with path.open("ab") as fh:
        fh.write(line(1))
    assert len(cache.read(path, DAY, TODAY)[0]) == 2
    assert cache.hits == 0


def test_same_size_rewrite_with_restored_mtime_is_reread(tmp_path: Path) -> None:
    """Replaced by another file (new inode) of equal size and mtime: still not stale."""
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0))
    st = os.stat(path)
    cache = DayCache()
    assert cache.read(path, DAY, TODAY)[0][0].instance_id == "fa"
    other = tmp_path / "other.jsonl"
    other.write_bytes(line(0).replace(b'"instance_id":"fa"', b'"instance_id":"fb"'))
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, path)
    assert os.stat(path).st_size == st.st_size
    assert cache.read(path, DAY, TODAY)[0][0].instance_id == "fb"


def test_in_place_same_size_edit_is_caught_by_mtime(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0))
    cache = DayCache()
    cache.read(path, DAY, TODAY)
    st = os.stat(path)
    path.write_bytes(line(0).replace(b'"instance_id":"fa"', b'"instance_id":"fc"'))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert cache.read(path, DAY, TODAY)[0][0].instance_id == "fc"


def test_today_and_future_are_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0))
    cache = DayCache()
    cache.read(path, DAY, DAY)
    cache.read(path, DAY, DAY)
    assert len(cache) == 0 and cache.hits == 0


def test_lru_evicts_oldest(tmp_path: Path) -> None:
    cache = DayCache(max_days=2)
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.jsonl"
        p.write_bytes(line(i))
        paths.append(p)
        cache.read(p, DAY, TODAY)
    assert len(cache) == 2
    cache.read(paths[0], DAY, TODAY)
    assert cache.hits == 0  # evicted, read again


def test_missing_file_is_not_cached(tmp_path: Path) -> None:
    cache = DayCache()
    assert cache.read(tmp_path / "none", DAY, TODAY) == ([], [])
    assert len(cache) == 0


def test_max_days_validated() -> None:
    with pytest.raises(ValueError):
        DayCache(max_days=0)


def test_read_evidence_uses_cache_and_sees_changes(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path)
    path = root.evidence_file(DAY)
    path.parent.mkdir(parents=True)
    path.write_bytes(line(0))
    cache = DayCache()
    now = datetime(2026, 3, 10, tzinfo=UTC)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    window = (start, start + timedelta(days=1))
    assert len(read_evidence(root, *window, cache=cache, now=now)[0]) == 1
    assert len(read_evidence(root, *window, cache=cache, now=now)[0]) == 1
    assert cache.hits == 1
    with path.open("ab") as fh:
        fh.write(line(5))
    assert len(read_evidence(root, *window, cache=cache, now=now)[0]) == 2


def test_bounded_by_summaries_too(tmp_path: Path) -> None:
    cache = DayCache(max_summaries=5)
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.jsonl"
        p.write_bytes(b"".join(line(i * 10 + k) for k in range(2)))
        paths.append(p)
        cache.read(p, DAY, TODAY)
    assert len(cache) == 2 and cache.summaries == 4
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(line(k) for k in range(8)))
    assert len(cache.read(big, DAY, TODAY)[0]) == 8
    assert len(cache) == 1 and cache.summaries == 8  # the newest day is always kept
    cache.clear()
    assert cache.summaries == 0 and len(cache) == 0


def test_reread_of_a_changed_day_replaces_its_count(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(line(0))
    cache = DayCache()
    cache.read(path, DAY, TODAY)
    with path.open("ab") as fh:
        fh.write(line(1))
    cache.read(path, DAY, TODAY)
    assert (len(cache), cache.summaries) == (1, 2)
