"""On-disk copies of closed days: exact round trip, never stale, corrupt means a miss."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.timeline import DayCache, DiskCache, TimelinePolicy, cache_for, timeline_for
from mimolo.timeline.demo import DemoSpec, write_demo
from mimolo.timeline.disk_cache import cache_dir
from mimolo.timeline.reader import read_file

from ._ledger import ledger_line

DAY = date(2026, 3, 2)
TODAY = date(2026, 3, 10)


def ledger(tmp_path: Path) -> Path:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    path = tmp_path / "ledger" / "d.jsonl"
    path.parent.mkdir()
    path.write_bytes(
        ledger_line("fa", start, start + timedelta(minutes=1), client="acme")
        + ledger_line(
            "screen", start, start + timedelta(minutes=5), mode="passive", keep_alive=None
        )
        + ledger_line("fb", start, start + timedelta(minutes=2), keep_alive=False)
        + b"garbage\n"
    )
    return path


def test_new_process_reads_the_disk_copy(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    disk = DiskCache(tmp_path / "cache")
    first = DayCache(disk=disk).read(path, DAY, TODAY)
    assert (list(first[0]), first[1]) == read_file(path) and len(first[1]) == 1
    fresh = DayCache(disk=DiskCache(tmp_path / "cache"))  # as a new process would
    assert fresh.read(path, DAY, TODAY) == first
    assert fresh.disk_hits == 1
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700


def test_changed_ledger_is_never_served_from_disk(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    DayCache(disk=DiskCache(tmp_path / "cache")).read(path, DAY, TODAY)
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with path.open("ab") as fh:
        fh.write(ledger_line("fc", start, start + timedelta(minutes=1)))
    fresh = DayCache(disk=DiskCache(tmp_path / "cache"))
    summaries, _ = fresh.read(path, DAY, TODAY)
    assert fresh.disk_hits == 0
    assert [s.instance_id for s in summaries] == ["fa", "screen", "fb", "fc"]


def test_corrupt_or_foreign_cache_file_is_a_miss(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    DayCache(disk=DiskCache(tmp_path / "cache")).read(path, DAY, TODAY)
    (cached,) = (tmp_path / "cache").iterdir()
    for junk in (b"", b"\x93\x01\x02", cached.read_bytes()[:-7]):
        cached.write_bytes(junk)
        fresh = DayCache(disk=DiskCache(tmp_path / "cache"))
        got, warned = fresh.read(path, DAY, TODAY)
        assert (list(got), warned) == read_file(path)
        assert fresh.disk_hits == 0


def test_unwritable_cache_dir_still_reads(tmp_path: Path) -> None:
    path = ledger(tmp_path)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be")
    cache = DayCache(disk=DiskCache(blocker / "timeline"))
    got, warned = cache.read(path, DAY, TODAY)
    assert (list(got), warned) == read_file(path)


def test_cache_for_root_gives_identical_timelines(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_demo(root, DemoSpec(days=3, seed=4, end=date(2026, 3, 4)))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    window = (start, start + timedelta(days=3))
    now = datetime(2026, 3, 20, tzinfo=UTC)
    plain, _ = timeline_for(root, *window, TimelinePolicy(), cache=None, now=now)
    cached, _ = timeline_for(root, *window, TimelinePolicy(), cache=cache_for(root), now=now)
    assert cache_for(root) is cache_for(root)
    assert len(list(cache_dir(root).iterdir())) >= 3
    reloaded, _ = timeline_for(
        root, *window, TimelinePolicy(), cache=DayCache(disk=DiskCache(cache_dir(root))), now=now
    )
    assert plain == cached == reloaded
    assert stat.S_IMODE((root.control_dir / "cache").stat().st_mode) == 0o700
