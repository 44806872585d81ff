"""Timeline of a year (DESIGN §12): < 5 s cold, < 200 ms for a cached day range.

A year of the demo generator's evidence (three clients' folder agents plus a passive screen
tracker, a summary every few seconds, every day of the week: about two million summaries)
is written once in the exact ledger format. Cold: ``timeline_for`` with no cache reads and
decodes every ledger file of the year and derives per-client segments. Cached: after one
warming pass, a day and a week range through the ``DayCache`` (closed days only).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta

from benchmarks._core import BenchContext, Figure, below, log
from mimolo.dataroot import DataRoot
from mimolo.timeline import DayCache, TimelinePolicy, derive_timeline, read_evidence, timeline_for
from mimolo.timeline.demo import DemoSpec, write_demo

END_DAY = date(2026, 6, 30)
SEED = 2026
INTERVAL_S = 7  # seconds between an agent's summaries: ~2 million summaries in a year


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def run(ctx: BenchContext) -> list[Figure]:
    days = ctx.scale(full=365, quick=30)
    root = DataRoot.resolve(ctx.tmp_dir("timeline")).ensure()
    log(f"writing {days} days of demo evidence")
    stats = write_demo(
        root, DemoSpec(days=days, seed=SEED, end=END_DAY, interval_s=INTERVAL_S, weekends=True)
    )
    start = _day(END_DAY - timedelta(days=days - 1))
    end = _day(END_DAY + timedelta(days=1))
    now = end + timedelta(days=2)  # every day of the range is closed
    policy = TimelinePolicy()
    scope = f"{stats.summaries:,} summaries in {stats.files} daily files over {days} days"
    log(scope)

    cpu: list[float] = []

    def cold() -> float:
        before = time.process_time()
        wall = ctx.time_call(lambda: timeline_for(root, start, end, policy, cache=None, now=now))
        cpu.append(time.process_time() - before)
        return wall

    cold_s = ctx.median_of(cold, warmup=0)
    cpu_note = f"; CPU time of this process {statistics.median(cpu):.2f} s (median)"

    summaries, _ = read_evidence(root, start, end, cache=None, now=now)
    derive_s = ctx.median_of(
        lambda: ctx.time_call(lambda: derive_timeline(summaries, policy, window=(start, end))),
        warmup=0,
    )
    n_summaries = len(summaries)

    cache = DayCache(max_days=days + 10)
    timeline_for(root, start, end, policy, cache=cache, now=now)  # warm every closed day
    one_day = (_day(END_DAY - timedelta(days=10)), _day(END_DAY - timedelta(days=9)))
    week = (_day(END_DAY - timedelta(days=13)), _day(END_DAY - timedelta(days=6)))

    def cached(window: tuple[datetime, datetime]) -> float:
        return 1000 * ctx.time_call(
            lambda: timeline_for(root, *window, policy, cache=cache, now=now)
        )

    day_ms = ctx.median_of(lambda: cached(one_day))
    week_ms = ctx.median_of(lambda: cached(week))
    year_s = ctx.median_of(
        lambda: ctx.time_call(lambda: timeline_for(root, start, end, policy, cache=cache, now=now)),
        warmup=0,
    )
    full = not ctx.quick
    scale_note = "" if full else " (quick mode: 30 days, target applies to a full year)"
    return [
        cold_s.figure(
            "timeline of a year, cold (read + derive)",
            "s",
            target="< 5 s" if full else "",
            verdict=below(cold_s.median, 5.0) if full else "info",
            notes=scope + cpu_note + scale_note,
        ),
        day_ms.figure(
            "timeline, cached day range",
            "ms",
            target="< 200 ms",
            verdict=below(day_ms.median, 200.0),
            notes="one UTC day (+ a neighbour file either side) through the warm DayCache",
        ),
        week_ms.figure(
            "timeline, cached week range",
            "ms",
            notes="seven UTC days through the warm DayCache",
        ),
        year_s.figure(
            "timeline of a year, cached",
            "s",
            notes="every day from the DayCache; derivation only" + scale_note,
        ),
        derive_s.figure(
            "derivation alone (pure function)",
            "s",
            notes=f"derive_timeline over {n_summaries:,} decoded summaries{scale_note}",
        ),
    ]
