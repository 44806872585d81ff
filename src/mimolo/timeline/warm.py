"""A first review of a long window, shared among worker processes (``python -m``).

A first review of a long window (a year nobody reviewed under these rules) is nearly all
one core's work: decoding JSON lines and categorizing them. When the day cache keeps
pieces on disk (``PieceStore``) and has a ``warmer``, ``base.cached_base`` hands it the
closed days that have no kept bounds (a first read: cut into contiguous chunks of days),
then the closed runs that have bounds but no kept pieces (new rules: chunks of whole runs);
each chunk is reviewed into the store by a worker, and the caller's own pass then finds
them on disk and categorizes only the runs that cross a chunk's edge. A first read of
data that never pauses long enough to split into runs (agents reporting day and night)
gains nothing from its workers but the bounds: that costs about half a read, once.

What a worker keeps is a pure function of its key (the run's files, the rules, the
policy), so chunking never changes an answer (tests check it); a worker that fails only
costs its share of the speed-up (a log line, and the caller reads those days itself).

``ProcessWarmer`` starts each worker as ``python -m mimolo.timeline.warm`` with its job
on stdin (an argv list, no shell), in its own session, and stops the group of any worker
still running when the wait is cut short.
"""

from __future__ import annotations

import contextlib
import logging
import math
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.process_group import stop_popen
from mimolo.protocol.review import Assignment, Rule
from mimolo.timeline.models import TimelinePolicy

logger = logging.getLogger(__name__)
T = TypeVar("T")

MIN_BYTES = 128 * 1024 * 1024
"""Less unread ledger than this is read in the caller's process: a worker's start costs
about 0.2 s, what some 30 MB of JSON lines take to decode here, so below this the workers
gain little or lose."""
CHUNKS_PER_WORKER = 1  # more chunks balance a loaded machine better, but each costs a
# start and its edge days; measured on two cores, one each was the faster


class WarmJob(msgspec.Struct, frozen=True, kw_only=True):
    """One worker's chunk: review ``[start, end)`` of the data root into its store."""

    root: str
    store: str
    disk: str | None  # the decoded days' copies, read and written too
    start: datetime
    end: datetime
    policy: TimelinePolicy
    rules: tuple[Rule, ...]
    default: Assignment
    rules_key: str
    now: datetime


class Warmer(Protocol):
    """Runs every job to its end (or gives up on it); what they kept is on disk."""

    workers: int
    min_bytes: int  # less unread ledger than this is read by the caller itself

    def __call__(self, jobs: Sequence[WarmJob]) -> None: ...


class InlineWarmer:
    """Every job in this process, one after the other (tests; a one-core machine)."""

    def __init__(self, workers: int = 2, min_bytes: int = MIN_BYTES) -> None:
        self.workers = workers
        self.min_bytes = min_bytes
        self.jobs: list[WarmJob] = []

    def __call__(self, jobs: Sequence[WarmJob]) -> None:
        for job in jobs:
            self.jobs.append(job)
            run_job(job)


def chunks(days: Sequence[tuple[date, int]], count: int) -> list[tuple[datetime, datetime]]:
    """UTC windows covering ``days`` (``(day, bytes)``, sorted) in at most ``count``
    contiguous chunks of about equal bytes; the days between two of them (missing, or
    already kept: a worker reads those from the store) are bridged."""
    return [_window(first, last) for first, last in _split(days, count)]


def run_chunks(
    runs: Sequence[tuple[float, float, int]], count: int
) -> list[tuple[datetime, datetime]]:
    """Windows covering whole runs (``(lo, hi, bytes)``, in order) in at most ``count``
    chunks of about equal bytes; a run is never cut, so each lies wholly in one window
    (whole seconds either side: a worker keeps it as the caller would). Everything in a
    run lies before everything in the next, so a chunk ends where its last run does."""
    spans = [((lo, hi), n) for lo, hi, n in runs]
    return [_span(first[0], last[1]) for first, last in _split(spans, count)]


def _split(items: Sequence[tuple[T, int]], count: int) -> list[tuple[T, T]]:
    """The first and last item of each of at most ``count`` runs of consecutive items of
    about equal weight (every item in one)."""
    if not items or count < 1:
        return []
    size = max(1, -(-sum(max(0, w) for _, w in items) // count))
    out: list[tuple[T, T]] = []
    first, taken = items[0][0], max(0, items[0][1])
    last = first
    for item, weight in items[1:]:
        weight = max(0, weight)
        if taken + weight > size and len(out) < count - 1:
            out.append((first, last))
            first, taken = item, 0
        last = item
        taken += weight
    out.append((first, last))
    return out


def _span(lo: float, hi: float) -> tuple[datetime, datetime]:
    return (
        datetime.fromtimestamp(math.floor(lo), UTC),
        datetime.fromtimestamp(math.ceil(hi) + 1, UTC),
    )


def _window(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
    )


def run_job(job: WarmJob) -> None:
    """Review one chunk into the store (the worker's whole work)."""
    from mimolo.timeline.base import cached_base  # the worker's entry: no import cycle
    from mimolo.timeline.cache import DayCache
    from mimolo.timeline.disk_cache import DiskCache
    from mimolo.timeline.facts import FactsCache
    from mimolo.timeline.piece_store import PieceStore
    from mimolo.timeline.rules import compile_rules

    compiled = compile_rules(job.rules, job.default)
    facts = FactsCache(max_files=1_000) if compiled.needs_facts else None
    cached_base(
        DataRoot(Path(job.root)),
        job.start,
        job.end,
        job.policy,
        compiled,
        job.rules_key,
        cache=DayCache(
            disk=None if job.disk is None else DiskCache(Path(job.disk)),
            pieces=PieceStore(Path(job.store)),
            facts=facts,  # one pass over each line for its evidence and its facts
        ),
        facts_cache=facts,
        now=job.now,
    )


class ProcessWarmer:
    """Up to ``workers`` jobs at a time, each in a process of its own; one call at a time
    (a second view of the same year waits, and its workers then find the pieces kept)."""

    def __init__(self, workers: int, min_bytes: int = MIN_BYTES, wait_s: float = 600.0) -> None:
        self.workers = workers
        self.min_bytes = min_bytes
        self.wait_s = wait_s
        self._lock = threading.Lock()

    def __call__(self, jobs: Sequence[WarmJob]) -> None:
        with self._lock:
            self._run(jobs)

    def _run(self, jobs: Sequence[WarmJob]) -> None:
        pending = list(jobs)
        running: list[tuple[subprocess.Popen[bytes], WarmJob]] = []
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    job = pending.pop(0)
                    proc = _start(job)
                    if proc is not None:
                        running.append((proc, job))
                if not running:
                    continue
                proc, job = running[0]
                _wait(proc, job, self.wait_s)  # an interrupt here still stops it (finally)
                running.pop(0)
        finally:
            for proc, _ in running:
                stop_popen(proc, label="review warm worker", grace_s=1.0)
                if proc.stderr is not None:
                    proc.stderr.close()


def _start(job: WarmJob) -> subprocess.Popen[bytes] | None:
    try:
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _wait; a pipe could fill)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mimolo.timeline.warm"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        logger.warning("could not start a review warm worker: %s", exc)
        return None
    proc.stderr = errors  # read back by ``_wait``, closed there
    assert proc.stdin is not None
    with contextlib.suppress(OSError):  # it died at once: its exit status says so
        proc.stdin.write(msgspec.json.encode(job))
    with contextlib.suppress(OSError):
        proc.stdin.close()
    proc.stdin = None
    return proc


def _wait(proc: subprocess.Popen[bytes], job: WarmJob, wait_s: float) -> None:
    errors = proc.stderr
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        stop_popen(proc, label="review warm worker", grace_s=1.0)
        logger.warning("review warm worker for %s gave up after %.0f s", job.start, wait_s)
    else:
        if proc.returncode != 0 and errors is not None:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            logger.warning(
                "review warm worker for %s..%s exited %s: %s",
                job.start.date(),
                job.end.date(),
                proc.returncode,
                lines[-1] if lines else "no message",
            )
    finally:
        if errors is not None:
            errors.close()


def main() -> int:
    """The worker: one job, JSON on stdin."""
    run_job(msgspec.json.decode(sys.stdin.buffer.read(), type=WarmJob))
    return 0


if __name__ == "__main__":
    sys.exit(main())
