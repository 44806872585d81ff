"""Side by side with ActivityWatch (aw-server 0.12.0) on the same machine and the same data.

Ingest: the same N activity records as events through aw-server's batch insert endpoint
(its fastest path) and as summaries through MiMoLo's Operations pipeline into the ledger.
Range queries: a year of the demo generator's activity, loaded into both; "active time per
client" over a week, a month and the year, cold (fresh process state) and warm.
Every comparison is a ratio from the same run. When aw-server cannot be installed or
started, the peer figures are ``info`` rows saying why; no number is ever made up.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks._aw import AwServer, AwUnavailable, database_files, ensure_aw_venv
from benchmarks._aw import running_aw_server as aw_server
from benchmarks._core import BenchContext, Figure, Measured, log, unmeasured
from benchmarks._peer_data import (
    ActivityRecord,
    aw_events,
    clients_of,
    faster,
    max_relative_difference,
    per_client_from_aw,
    per_client_query,
    records_from_summaries,
    speedup,
    synthetic_records,
)
from mimolo.dataroot import DataRoot
from mimolo.timeline import DayCache, TimelinePolicy, read_evidence, timeline_for
from mimolo.timeline.demo import DemoSpec, write_demo

COOLDOWN_S = 600.0
DEMO_END = date(2026, 6, 30)
DEMO_SEED = 12
LOAD_BATCH = 10_000
FASTER = "> 1x (faster)"

AW_SIDE = (
    "aw-server: Flask REST server in --testing mode, peewee/SQLite in WAL mode with "
    "synchronous=FULL (an fsync per transaction); a batch is committed 100 rows per transaction"
)
MIMOLO_SIDE = (
    "MiMoLo: every line schema-validated, wrapped with ledger metadata (seq, id, received_at, "
    "instance, host) and appended to the daily JSONL ledger with fsync group commit"
)


def run(ctx: BenchContext) -> list[Figure]:
    """Ingest and range-query figures for both sides, or ``info`` rows when AW is missing."""
    try:
        executable = ensure_aw_venv()
    except AwUnavailable as exc:
        return _unavailable(str(exc))
    try:
        return _ingest(ctx, executable) + _queries(ctx, executable)
    except AwUnavailable as exc:
        return _unavailable(str(exc))


def _unavailable(reason: str) -> list[Figure]:
    note = f"ActivityWatch peer not measured: {reason}"
    return [
        unmeasured("ingest speed-up vs aw-server", "x", note, target=FASTER),
        unmeasured("range query speed-up vs aw-server", "x", note, target=FASTER),
    ]


# ingest


def _ingest(ctx: BenchContext, executable: Path) -> list[Figure]:
    n = ctx.scale(full=20_000, quick=2_000)
    n_heartbeats = ctx.scale(full=1_000, quick=300)
    start = datetime(2026, 1, 5, 8, tzinfo=UTC).timestamp()
    records = synthetic_records(n, start=start)
    events = aw_events(records)
    home = ctx.tmp_dir("aw-ingest")
    counter = itertools.count()
    log(f"ingest: {n} records into aw-server")
    with aw_server(home, executable) as aw:

        def aw_batch() -> float:
            bucket = f"ingest-{next(counter)}"
            aw.create_bucket(bucket)
            seconds = ctx.time_call(lambda: aw.insert_events(bucket, events))
            if aw.event_count(bucket) != n:
                raise AssertionError(f"aw-server holds {aw.event_count(bucket)} of {n} events")
            return n / seconds

        aw_rate = ctx.median_of(aw_batch)
        heartbeats = _heartbeat_rate(ctx, aw, records[:n_heartbeats])
        db_bytes = sum(p.stat().st_size for p in database_files(home))
    figures = [
        aw_rate.figure(
            "ingest: aw-server batch insert",
            "events/s",
            notes=f"N={n} events in one POST per repeat, fresh bucket each; {AW_SIDE}; "
            f"database {db_bytes / 2**20:.1f} MiB after all repeats",
        ),
        heartbeats.figure(
            "ingest: aw-server heartbeats",
            "heartbeats/s",
            notes=f"{n_heartbeats} heartbeats, one request each, pulsetime 120 s (equal data "
            "merges into the last event): the path ActivityWatch's own watchers use",
        ),
    ]
    log(f"ingest: {n} records through Operations")
    mimolo_rate = _mimolo_ingest(ctx, records)
    if isinstance(mimolo_rate, str):
        note = f"MiMoLo side not measured: {mimolo_rate}"
        return [
            *figures,
            unmeasured("ingest: MiMoLo Operations pipeline", "summaries/s", note),
            unmeasured("ingest speed-up vs aw-server", "x", note, target=FASTER),
        ]
    ratio = mimolo_rate.median / aw_rate.median
    return [
        *figures,
        mimolo_rate.figure(
            "ingest: MiMoLo Operations pipeline",
            "summaries/s",
            notes=f"the same N={n} records as summaries from real agent processes through "
            f"Operations into the evidence ledger; {MIMOLO_SIDE}",
        ),
        Figure(
            name="ingest speed-up vs aw-server",
            value=ratio,
            unit="x",
            target=FASTER,
            verdict=faster(ratio),
            notes="MiMoLo summaries/s ÷ aw-server batch events/s (medians of this run)",
            repeats=ctx.repeats,
        ),
    ]


def _mimolo_ingest(ctx: BenchContext, records: list[ActivityRecord]) -> Measured | str:
    """Summaries/s through Operations' real pipeline, or why it could not be measured."""
    try:
        ops = importlib.import_module("benchmarks.bench_ops")
    except ImportError as exc:
        return f"benchmarks/bench_ops.py is not importable ({exc})"
    ingest: Callable[[int, Path], float] | None = getattr(ops, "ingest_through_operations", None)
    if ingest is None:
        return "benchmarks.bench_ops has no ingest_through_operations()"
    n = len(records)
    return ctx.median_of(lambda: n / ingest(n, ctx.tmp_dir("ops")))


def _heartbeat_rate(ctx: BenchContext, aw: AwServer, records: list[ActivityRecord]) -> Measured:
    counter = itertools.count()
    beats = aw_events(records)

    def one_run() -> float:
        bucket = f"heartbeat-{next(counter)}"
        aw.create_bucket(bucket)

        def send() -> None:
            for beat in beats:
                aw.heartbeat(bucket, beat, pulsetime=120.0)

        return len(beats) / ctx.time_call(send)

    return ctx.median_of(one_run)


# range queries


@dataclass(frozen=True)
class _Range:
    name: str
    start: datetime
    end: datetime


def _ranges(days: int) -> list[_Range]:
    end = datetime(DEMO_END.year, DEMO_END.month, DEMO_END.day, tzinfo=UTC) + timedelta(days=1)
    spans = [("week", 7), ("month", 30)] + ([("year", days)] if days > 30 else [])
    return [_Range(name, end - timedelta(days=n), end) for name, n in spans]


def _queries(ctx: BenchContext, executable: Path) -> list[Figure]:
    days = ctx.scale(full=365, quick=30)
    data_root = DataRoot.resolve(ctx.tmp_dir("mimolo-root"))
    stats = write_demo(data_root, DemoSpec(days=days, seed=DEMO_SEED, end=DEMO_END))
    now = datetime(DEMO_END.year, DEMO_END.month, DEMO_END.day, tzinfo=UTC) + timedelta(days=3)
    ranges = _ranges(days)
    everything, _ = read_evidence(data_root, ranges[-1].start, ranges[-1].end, cache=None, now=now)
    records = records_from_summaries(everything)
    clients = clients_of(records)
    policy = TimelinePolicy(cooldown_s=COOLDOWN_S)
    home = ctx.tmp_dir("aw-query")
    log(f"range queries: {stats.summaries} summaries over {days} days, {len(records)} events")

    def mimolo(r: _Range, cache: DayCache) -> dict[str, float]:
        timeline, _ = timeline_for(data_root, r.start, r.end, policy, cache=cache, now=now)
        return dict(timeline.per_client)

    def aw_query(aw: AwServer, r: _Range) -> dict[str, float]:
        program = per_client_query("activity", clients, COOLDOWN_S)
        return per_client_from_aw(aw.query(program, r.start, r.end))

    with aw_server(home, executable) as aw:
        aw.create_bucket("activity")
        events = aw_events(records)
        for i in range(0, len(events), LOAD_BATCH):
            aw.insert_events("activity", events[i : i + LOAD_BATCH])

    figures = [
        Figure(
            name="range query data",
            value=float(stats.summaries),
            unit="summaries",
            notes=f"demo generator, {days} days (seed {DEMO_SEED}); its {len(records)} active "
            f"keep-alive summaries are the {len(records)} aw-server events; "
            f"cooldown = pulsetime = {COOLDOWN_S:g} s; OS page cache warm for both sides",
        )
    ]
    # cold: MiMoLo with an empty day cache; aw-server freshly started before each query
    for r in ranges:

        def mimolo_cold(r: _Range = r) -> float:
            return _timed(lambda: mimolo(r, DayCache()))

        def aw_cold(r: _Range = r) -> float:
            with aw_server(home, executable) as fresh:
                return _timed(lambda: aw_query(fresh, r))

        mim = ctx.median_of(mimolo_cold)
        awm = ctx.median_of(aw_cold, warmup=0)
        figures += _pair(f"query {r.name} cold", mim, awm)
    # warm: MiMoLo's day cache filled; aw-server queried again in the same process
    with aw_server(home, executable) as aw:
        for r in ranges:
            cache = DayCache()
            ours = mimolo(r, cache)
            theirs = aw_query(aw, r)

            def mimolo_warm(r: _Range = r, cache: DayCache = cache) -> float:
                return _timed(lambda: mimolo(r, cache))

            def aw_warm(r: _Range = r) -> float:
                return _timed(lambda: aw_query(aw, r))

            mim = ctx.median_of(mimolo_warm)
            awm = ctx.median_of(aw_warm)
            figures += _pair(f"query {r.name} warm", mim, awm)
            diff = max_relative_difference(ours, theirs)
            figures.append(
                Figure(
                    name=f"per-client answer difference ({r.name})",
                    value=diff * 100,
                    unit="%",
                    verdict="info",
                    notes="largest relative difference between the two per-client totals "
                    "(0 % = the same answer: both join a client's activity across gaps up to "
                    "the cooldown and end at its last activity)",
                )
            )
    return figures


def _timed(fn: Callable[[], object]) -> float:
    return BenchContext.time_call(fn) * 1000


def _pair(name: str, mim: Measured, awm: Measured) -> list[Figure]:
    ratio = speedup(mim.median, awm.median)
    cold = "cold" in name
    mim_notes = "timeline_for: read the ledger days, derive per-client segments" + (
        " (empty day cache)" if cold else " (closed days cached)"
    )
    aw_notes = "query2 over REST: per-client flood + merge_events_by_keys" + (
        " (aw-server just started)" if cold else " (same server, repeated)"
    )
    return [
        mim.figure(f"{name}: MiMoLo", "ms", notes=mim_notes),
        awm.figure(f"{name}: aw-server", "ms", notes=aw_notes),
        Figure(
            name=f"{name} speed-up vs aw-server",
            value=ratio,
            unit="x",
            target=FASTER,
            verdict=faster(ratio),
            notes="aw-server ms ÷ MiMoLo ms (medians of this run)",
            repeats=len(mim.samples),
        ),
    ]
