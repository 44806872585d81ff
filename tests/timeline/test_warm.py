"""A first review of many days shared among workers: chunks that never bridge a gap, the
same answer as one process (in this process and in real worker processes), the caller
reading nothing the workers kept, and a failing worker costing only speed."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.dataroot import DataRoot
from mimolo.protocol.review import Assignment, Rule, RuleMatch
from mimolo.timeline import DayCache, TimelinePolicy
from mimolo.timeline import warm as warm_module
from mimolo.timeline.demo import DemoSpec, write_demo
from mimolo.timeline.disk_cache import DiskCache
from mimolo.timeline.piece_store import PieceStore
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.reviewed import ReviewedTimeline
from mimolo.timeline.warm import (
    InlineWarmer,
    ProcessWarmer,
    Warmer,
    WarmJob,
    chunks,
    run_chunks,
)

from ._ledger import ledger_line
from ._review import adj, inputs

END = date(2026, 5, 31)
DAYS = 40
START = datetime(2026, 4, 22, tzinfo=UTC)
WINDOW = (START, START + timedelta(days=DAYS))
NOW = WINDOW[1] + timedelta(days=3)
POLICY = TimelinePolicy()
RULES = (
    Rule(rule_id="code", match=RuleMatch(application="^code$"), assign=Assignment(project="app")),
    Rule(rule_id="initech", match=RuleMatch(instance_id="folders-initech"),
         assign=Assignment(project="reports")),
)  # fmt: skip


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> DataRoot:
    root = DataRoot.resolve(str(tmp_path_factory.mktemp("warm"))).ensure()
    spec = DemoSpec(days=DAYS, seed=7, end=END, interval_s=600, weekends=True, desktop=True)
    write_demo(root, spec)
    return root


def _review_inputs(rules: tuple[Rule, ...] = RULES) -> ReviewInputs:
    return inputs(
        rules=rules,
        adjustments=(
            adj(1, "exclude_range", 3 * 1440 + 600, 3 * 1440 + 660),
            adj(2, "assign_range", 20 * 1440 + 540, 20 * 1440 + 600, client="globex"),
        ),
    )


def _review(root: DataRoot, cache: DayCache | None, review: ReviewInputs) -> ReviewedTimeline:
    return reviewed_timeline(root, *WINDOW, POLICY, review, cache=cache, now=NOW)


def _cache(store: Path, warmer: Warmer | None) -> DayCache:
    return DayCache(disk=DiskCache(store / "days"), pieces=PieceStore(store / "pieces"),
                    warmer=warmer)  # fmt: skip


def _days(first: date, *offsets: int) -> list[date]:
    return [first + timedelta(days=n) for n in offsets]


def test_chunks_are_contiguous_balanced_by_bytes_and_bridge_gaps() -> None:
    d0 = date(2026, 1, 1)
    even = [(d, 100) for d in _days(d0, *range(10))]
    got = chunks(even, 2)
    assert [(a.date(), b.date()) for a, b in got] == [
        (d0, d0 + timedelta(days=5)),
        (d0 + timedelta(days=5), d0 + timedelta(days=10)),
    ]
    # a weekend between (no files, or kept ones) is bridged: one window, not two
    gapped = chunks([(d, 100) for d in _days(d0, 0, 1, 2, 7, 8)], 1)
    assert [(a.date(), b.date()) for a, b in gapped] == [(d0, d0 + timedelta(days=9))]
    # one big day weighs as much as the rest together
    heavy = chunks([(d0, 900), *[(d, 100) for d in _days(d0, *range(1, 10))]], 2)
    assert [(a.date(), b.date()) for a, b in heavy] == [
        (d0, d0 + timedelta(days=1)),
        (d0 + timedelta(days=1), d0 + timedelta(days=10)),
    ]
    assert len(chunks(even, 3)) == 3 and len(chunks(even, 50)) == 10
    assert chunks([], 4) == [] and chunks(even[:1], 0) == []
    assert all(a.tzinfo is UTC and b - a >= timedelta(days=1) for a, b in got)


def test_run_chunks_never_cut_a_run_and_cover_each_whole() -> None:
    runs = [(100.5, 200.25, 300), (300.0, 400.0, 100), (450.0, 900.75, 400), (1000.0, 1000.0, 100)]
    got = run_chunks(runs, 2)
    assert len(got) == 2
    spans = [(a.timestamp(), b.timestamp()) for a, b in got]
    for lo, hi, _ in runs:  # each run lies wholly inside exactly one window
        assert sum(a <= lo and hi <= b for a, b in spans) == 1
    assert spans[0] == (100.0, 401.0) and spans[1] == (450.0, 1001.0)
    assert len(run_chunks(runs, 10)) == 4 and len(run_chunks(runs, 1)) == 1
    assert run_chunks([], 2) == []


def test_a_first_review_is_shared_among_workers_and_the_caller_reads_nothing_kept(
    year: DataRoot, tmp_path: Path
) -> None:
    review = _review_inputs()
    fresh = _review(year, None, review)
    warmer = InlineWarmer(workers=2, min_bytes=1)
    cache = _cache(tmp_path, warmer)
    assert _review(year, cache, review) == fresh
    assert len(warmer.jobs) == 2  # a first read: no bounds kept, two chunks
    assert all(job.disk is None for job in warmer.jobs)  # no decoded copies to read yet
    assert cache.misses <= 4  # only the runs across the chunks' edge were read here
    # new rules: the bounds are kept, the pieces are not; the workers categorize again
    other = _review_inputs((Rule(rule_id="all", match=RuleMatch(instance_id="*"),
                                 assign=Assignment(client_id="acme")),))  # fmt: skip
    again = InlineWarmer(workers=2, min_bytes=1)
    assert _review(year, _cache(tmp_path, again), other) == _review(year, None, other)
    assert len(again.jobs) == 2 and all(job.disk is not None for job in again.jobs)
    # a third process finds everything on disk: no worker, no ledger file read
    idle = InlineWarmer(workers=2, min_bytes=1)
    third = _cache(tmp_path, idle)
    assert _review(year, third, review) == fresh
    assert idle.jobs == [] and third.misses == 0


def test_data_that_never_pauses_is_one_run_and_stays_right(tmp_path: Path) -> None:
    """A passive agent reporting day and night: the year is one run, which no chunk of
    days holds whole. The first read's workers keep only bounds; new rules are never
    handed to a worker (one run is one worker's work)."""
    root = DataRoot.resolve(str(tmp_path / "root")).ensure()
    seq = 0
    for day in range(DAYS):
        lines: list[bytes] = []
        for hour in range(24):
            seq += 1
            at = START + timedelta(days=day, hours=hour)
            lines.append(ledger_line("screen", at, at + timedelta(hours=1), mode="passive",
                                     keep_alive=None, seq=seq))  # fmt: skip
            if hour in (9, 10, 14):
                seq += 1
                lines.append(ledger_line("fa", at, at + timedelta(minutes=50), client="acme",
                                         seq=seq))  # fmt: skip
        path = root.evidence_file((START + timedelta(days=day)).date())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(lines))
    review = _review_inputs()
    first = InlineWarmer(workers=2, min_bytes=1)
    assert _review(root, _cache(tmp_path / "c", first), review) == _review(root, None, review)
    assert len(first.jobs) == 2
    other = _review_inputs(RULES[1:])
    again = InlineWarmer(workers=2, min_bytes=1)
    assert _review(root, _cache(tmp_path / "c", again), other) == _review(root, None, other)
    assert again.jobs == []


def test_no_worker_is_started_for_a_store_that_cannot_be_written(
    year: DataRoot, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    warmer = InlineWarmer(workers=2, min_bytes=1)
    cache = DayCache(pieces=PieceStore(blocker / "pieces"), warmer=warmer)
    review = _review_inputs()
    assert _review(year, cache, review) == _review(year, None, review)
    assert warmer.jobs == []  # their work could not be kept: the caller reads it all


def test_little_unread_ledger_is_read_by_the_caller(year: DataRoot, tmp_path: Path) -> None:
    warmer = InlineWarmer(workers=2, min_bytes=2**40)
    review = _review_inputs()
    assert _review(year, _cache(tmp_path, warmer), review) == _review(year, None, review)
    assert warmer.jobs == []


def test_real_worker_processes_give_the_same_review(year: DataRoot, tmp_path: Path) -> None:
    review = _review_inputs()
    cache = _cache(tmp_path, ProcessWarmer(workers=2, min_bytes=1))
    assert _review(year, cache, review) == _review(year, None, review)
    assert cache.misses <= 4  # the workers, not this process, read the ledger
    assert len(list((tmp_path / "pieces").glob("*.pieces"))) >= DAYS - 4


def test_a_failing_worker_costs_only_its_share(
    year: DataRoot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    job = WarmJob(
        root=str(blocker),  # evidence under a file: the worker fails on its first read
        store=str(tmp_path / "pieces"),
        disk=None,
        start=WINDOW[0],
        end=WINDOW[1],
        policy=POLICY,
        rules=RULES,
        default=Assignment(),
        rules_key="k",
        now=NOW,
    )
    with caplog.at_level(logging.WARNING, logger="mimolo.timeline.warm"):
        ProcessWarmer(workers=2)([job])
    assert "exited 1" in caplog.text and "NotADirectoryError" in caplog.text
    review = _review_inputs()
    failing = _cache(tmp_path, _Failing())
    assert _review(year, failing, review) == _review(year, None, review)


class _Failing:
    """A warmer whose workers all die at once (nothing kept)."""

    workers = 2
    min_bytes = 1

    def __call__(self, jobs: object) -> None:
        return None


@settings(max_examples=25, deadline=None)
@given(
    first=st.integers(0, DAYS - 2),
    length=st.integers(1, DAYS),
    workers=st.integers(1, 4),
    new_rules=st.booleans(),
)
def test_any_chunking_gives_the_answer_of_one_process(
    year: DataRoot, first: int, length: int, workers: int, new_rules: bool
) -> None:
    window = (START + timedelta(days=first), START + timedelta(days=first + length))
    review = _review_inputs(RULES[:1] if new_rules else RULES)
    with tempfile.TemporaryDirectory() as tmp:
        cache = _cache(Path(tmp), InlineWarmer(workers=workers, min_bytes=1))
        got = reviewed_timeline(year, *window, POLICY, review, cache=cache, now=NOW)
    assert got == reviewed_timeline(year, *window, POLICY, review, cache=None, now=NOW)


def _job(root: DataRoot, store: Path, start: datetime) -> WarmJob:
    return WarmJob(
        root=str(root.root),
        store=str(store),
        disk=None,
        start=start,
        end=start + timedelta(days=10),
        policy=POLICY,
        rules=RULES,
        default=Assignment(),
        rules_key="k",
        now=NOW,
    )


def _gone(proc: subprocess.Popen[bytes]) -> bool:
    """Reaped, and nothing left in its process group."""
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return proc.returncode is not None
    return False


def test_workers_are_stopped_when_the_wait_gives_up_or_is_interrupted(
    year: DataRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_start = warm_module._start

    def start(job: WarmJob) -> subprocess.Popen[bytes] | None:
        proc = real_start(job)
        assert proc is not None
        started.append(proc)
        return proc

    monkeypatch.setattr(warm_module, "_start", start)
    jobs = [_job(year, tmp_path / "s", START + timedelta(days=n)) for n in (0, 10, 20)]
    ProcessWarmer(workers=2, wait_s=0.001)(jobs)  # no interpreter starts in a millisecond
    assert len(started) == 3 and all(_gone(p) for p in started)

    started.clear()

    def interrupted(proc: subprocess.Popen[bytes], job: WarmJob, wait_s: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(warm_module, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ProcessWarmer(workers=2)(jobs)
    assert len(started) == 2 and all(_gone(p) for p in started)  # both running: stopped
