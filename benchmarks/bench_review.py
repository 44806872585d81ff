"""The reviewed timeline of a year: 200 rules and 5,000 adjustments (issue 18).

The year of demo evidence of ``bench_timeline`` (three clients' folder agents, a passive
screen, a summary every few seconds, every day: about two million summaries) plus its
desktop_activity instance (applications and titles per minute), reviewed under 200 rules
(instance and client globs, application and title regexes: most match nothing, so every
distinct fact walks the whole list, the worst case) and 5,000 adjustments spread over the
year (manual entries, assignments, exclusions, idle keep / discard / split).

Figures: a first read as Control or the CLI makes it (nothing kept anywhere: the closed
days shared among worker processes, one per core, which keep their bounds and pieces on
disk), the same in one process with no caches at all (every ledger file read and decoded
with its facts, the review applied), a cold process (nothing in memory; what an earlier
process kept on disk), the year from a warm day cache (closed runs of days keep their
categorized pieces there: adjustments, locks and totals recomputed), the year from
decoded days with no kept pieces (rules and derivation recomputed too) and a cached week,
against the timeline's targets.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks._core import BenchContext, Figure, below, log
from mimolo.dataroot import DataRoot
from mimolo.protocol.review import (
    Adjustment,
    AdjustmentKind,
    Assignment,
    ReviewSettings,
    Rule,
    RuleMatch,
)
from mimolo.timeline import DayCache, TimelinePolicy
from mimolo.timeline.demo import DEMO_CLIENTS, DemoSpec, DemoStats, write_demo
from mimolo.timeline.facts import FactsCache
from mimolo.timeline.query import disk_backed_cache
from mimolo.timeline.review import ReviewInputs, reviewed_timeline

END_DAY = date(2026, 6, 30)
SEED = 2026
INTERVAL_S = 7
RULES = 200
ADJUSTMENTS = 5_000
TZ = ZoneInfo("Europe/Berlin")


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def make_rules(n: int) -> tuple[Rule, ...]:
    """``n`` rules; a handful match the demo's applications and clients, the rest nothing."""
    real = [
        Rule(
            rule_id="code-acme",
            match=RuleMatch(application="^code$", title="window"),
            assign=Assignment(client_id="acme", project="app", tags=("dev",)),
        ),
        Rule(
            rule_id="cad",
            match=RuleMatch(application="blender"),
            assign=Assignment(client_id="globex", project="models"),
        ),
        Rule(
            rule_id="initech-folders",
            match=RuleMatch(instance_id="folders-initech"),
            assign=Assignment(project="reports"),
        ),
        Rule(
            rule_id="mail", match=RuleMatch(title="^thunderbird"), assign=Assignment(tags=("mail",))
        ),
    ]
    filler = [
        Rule(
            rule_id=f"never-{i}",
            match=(
                RuleMatch(title=f"project-{i} (draft|final)")
                if i % 3 == 0
                else RuleMatch(application=f"^tool{i}$")
                if i % 3 == 1
                else RuleMatch(instance_id=f"folders-client{i}-*")
            ),
            assign=Assignment(client_id=f"client{i}"),
        )
        for i in range(n - len(real))
    ]
    half = len(filler) // 2
    return (*filler[:half], *real, *filler[half:])  # real rules behind a hundred others


def make_adjustments(n: int, first: date, days: int) -> list[Adjustment]:
    rng = random.Random(SEED)
    kinds: tuple[AdjustmentKind, ...] = (
        "manual_entry",
        "assign_range",
        "exclude_range",
        "idle_keep",
        "idle_discard",
        "idle_split",
    )
    created = _day(END_DAY) + timedelta(days=1)
    out: list[Adjustment] = []
    for seq in range(1, n + 1):
        kind = rng.choice(kinds)
        day = first + timedelta(days=rng.randrange(days))
        start = _day(day) + timedelta(hours=8, minutes=rng.randrange(0, 10 * 60))
        end = start + timedelta(minutes=rng.randrange(5, 90))
        out.append(
            Adjustment(
                id=f"{seq:032x}",
                seq=seq,
                kind=kind,
                reason="bench",
                author="bench",
                created_at=created + timedelta(seconds=seq),
                start=start,
                end=end,
                assign=Assignment(client_id=rng.choice(DEMO_CLIENTS), project="review"),
                split_at=start + (end - start) / 2 if kind == "idle_split" else None,
            )
        )
    return out


def write_year(ctx: BenchContext, name: str) -> tuple[DataRoot, DemoStats, int]:
    """The year (quick: 30 days) of demo evidence with the desktop agent, in a new root."""
    days = ctx.scale(full=365, quick=30)
    root = DataRoot.resolve(ctx.tmp_dir(name)).ensure()
    log(f"writing {days} days of demo evidence (with the desktop agent)")
    spec = DemoSpec(
        days=days, seed=SEED, end=END_DAY, interval_s=INTERVAL_S, weekends=True, desktop=True
    )
    return root, write_demo(root, spec), days


def run(ctx: BenchContext) -> list[Figure]:
    root, stats, days = write_year(ctx, "review")
    first = END_DAY - timedelta(days=days - 1)
    start, end = _day(first), _day(END_DAY + timedelta(days=1))
    now = end + timedelta(days=2)
    policy = TimelinePolicy()
    n_adjust = ctx.scale(full=ADJUSTMENTS, quick=ADJUSTMENTS * 30 // 365)
    inputs = ReviewInputs(
        tz=TZ,
        settings=ReviewSettings(rules=make_rules(RULES)),
        adjustments=make_adjustments(n_adjust, first, days),
    )
    scope = (
        f"{stats.summaries:,} summaries in {stats.files} files over {days} days; "
        f"{RULES} rules, {n_adjust:,} adjustments; zone {TZ.key}"
    )
    log(scope)

    def cold() -> float:
        return ctx.time_call(
            lambda: reviewed_timeline(
                root, start, end, policy, inputs, cache=None, facts_cache=None, now=now
            )
        )

    cold_s = ctx.median_of(cold, warmup=0)
    workers = os.cpu_count() or 1

    def first_read() -> float:
        fresh = disk_backed_cache(ctx.tmp_dir("review-first"), max_days=days + 10)
        return ctx.time_call(
            lambda: reviewed_timeline(
                root, start, end, policy, inputs, cache=fresh, facts_cache=None, now=now
            )
        )

    first_s = ctx.median_of(first_read, warmup=0)
    store = ctx.tmp_dir("review-store")
    reviewed_timeline(  # the first process: decoded days and kept pieces go to disk
        root,
        start,
        end,
        policy,
        inputs,
        cache=disk_backed_cache(store, max_days=days + 10),
        facts_cache=None,
        now=now,
    )

    def in_new_process(with_inputs: ReviewInputs) -> float:
        """A review through caches empty in memory (a new process) over ``store``."""
        return ctx.time_call(
            lambda: reviewed_timeline(
                root,
                start,
                end,
                policy,
                with_inputs,
                cache=disk_backed_cache(store, max_days=days + 10),
                facts_cache=FactsCache(max_files=days + 10),
                now=now,
            )
        )

    process_s = ctx.median_of(lambda: in_new_process(inputs), warmup=0)
    edits = iter(range(1_000))

    def new_rules() -> float:
        extra = Rule(
            rule_id=f"edit-{next(edits)}",
            match=RuleMatch(title="^never$"),
            assign=Assignment(client_id="nobody"),
        )
        edited = ReviewInputs(
            tz=TZ,
            settings=ReviewSettings(rules=(extra, *inputs.settings.rules)),
            adjustments=inputs.adjustments,
        )
        return in_new_process(edited)

    rules_s = ctx.median_of(new_rules, warmup=0)
    cache = DayCache(max_days=days + 10)
    facts = FactsCache(max_files=days + 10)
    year = reviewed_timeline(
        root, start, end, policy, inputs, cache=cache, facts_cache=facts, now=now
    )
    log(
        f"{len(year.segments):,} segments, {len(year.removed):,} removed, "
        f"{len(year.idle_gaps):,} idle gaps"
    )
    warm_s = ctx.median_of(
        lambda: ctx.time_call(
            lambda: reviewed_timeline(
                root, start, end, policy, inputs, cache=cache, facts_cache=facts, now=now
            )
        ),
        warmup=0,
    )

    def recategorized() -> float:
        cache.derived.clear()  # the decoded days stay; the kept pieces go
        return ctx.time_call(
            lambda: reviewed_timeline(
                root, start, end, policy, inputs, cache=cache, facts_cache=facts, now=now
            )
        )

    fresh_s = ctx.median_of(recategorized, warmup=0)
    week = (_day(END_DAY - timedelta(days=13)), _day(END_DAY - timedelta(days=6)))

    def cached_week() -> float:
        return 1000 * ctx.time_call(
            lambda: reviewed_timeline(
                root, *week, policy, inputs, cache=cache, facts_cache=facts, now=now
            )
        )

    week_ms = ctx.median_of(cached_week)
    full = not ctx.quick
    note = "" if full else " (quick mode: 30 days, the targets apply to a full year)"
    return [
        first_s.figure(
            "review of a year, first read (nothing kept)",
            "s",
            target="< 5 s" if full else "",
            verdict=below(first_s.median, 5.0) if full else "info",
            notes=scope + f"; empty caches: the closed days shared among {workers} worker "
            "processes, which keep their bounds and pieces on disk" + note,
        ),
        cold_s.figure(
            "review of a year, one process, no caches",
            "s",
            verdict="info",
            notes="every ledger file read and decoded with its facts in this process, the "
            "review applied; no day cache, no facts cache, no workers" + note,
        ),
        process_s.figure(
            "review of a year, cold process (kept on disk)",
            "s",
            target="< 1 s" if full else "",
            verdict=below(process_s.median, 1.0) if full else "info",
            notes="a new process's first review (nothing in memory): each closed day's "
            "bounds and each closed run's categorized pieces from control/cache/review, "
            "written by an earlier process; adjustments, locks and totals recomputed" + note,
        ),
        rules_s.figure(
            "review of a year, new rules, cold process",
            "s",
            verdict="info",
            notes="a new process after a rule was added: bounds kept on disk, pieces not "
            f"(other rules); the year's runs shared among {workers} workers" + note,
        ),
        warm_s.figure(
            "review of a year, warm day cache",
            "s",
            target="< 1 s" if full else "",
            verdict=below(warm_s.median, 1.0) if full else "info",
            notes="closed runs' categorized pieces from the day cache; adjustments, locks "
            "and local-day totals recomputed" + note,
        ),
        fresh_s.figure(
            "review of a year, decoded days, no kept pieces",
            "s",
            verdict="info",
            notes="evidence and facts from memory; rules, derivation, adjustments, locks "
            "and totals recomputed (a first view, or new rules)" + note,
        ),
        week_ms.figure(
            "review, cached week",
            "ms",
            target="< 20 ms",
            verdict=below(week_ms.median, 20.0),
            notes="seven days through the warm caches (kept pieces); adjustments, locks "
            "and totals recomputed",
        ),
    ]
