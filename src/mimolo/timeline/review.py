"""The reviewed timeline (DESIGN §6): evidence → rules → adjustments → locks, on read.

``reviewed_timeline`` reads the ledger days of a window (through the day cache), gives
each summary its category by the rules (first enabled match wins, else the default),
derives segments per category, applies the adjustments in effect in journal order and
marks what issued invoices lock. Nothing is written anywhere: the ledger and journals are
only read. With no rules, adjustments or invoices it is exactly ``timeline_for``'s
grouped derivation, with days cut in the local zone.
"""

from __future__ import annotations

import hashlib
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.review import Adjustment, InvoiceEntry, ReviewSettings
from mimolo.timeline.adjust import Lock, apply_adjustments, effective, usable
from mimolo.timeline.base import base_pieces, cached_base
from mimolo.timeline.cache import DayCache
from mimolo.timeline.collector import collector_paused
from mimolo.timeline.facts import DEFAULT_FACTS, Facts, FactsCache, read_evidence_and_facts
from mimolo.timeline.models import (
    UNASSIGNED,
    TimelinePolicy,
    TimelineSummary,
    from_epoch,
    to_epoch,
)
from mimolo.timeline.pieces import Piece, Span, subtract, union
from mimolo.timeline.query import DEFAULT_CACHE, check_window, read_evidence
from mimolo.timeline.reader import ReadWarning
from mimolo.timeline.reviewed import (
    IdleGap,
    LocalDayTotal,
    LockedPeriod,
    ReviewedSegment,
    ReviewedTimeline,
)
from mimolo.timeline.rules import CompiledRules, compile_rules
from mimolo.timeline.zones import local_day_bounds


@dataclass(frozen=True)
class ReviewInputs:
    """What the review applies over the evidence: the zone, the rules and billing
    settings, the adjustments journal and the invoice entries (compiled once)."""

    tz: ZoneInfo
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    adjustments: Sequence[Adjustment] = ()
    invoices: Sequence[InvoiceEntry] = ()

    @cached_property
    def compiled(self) -> CompiledRules:
        return compile_rules(self.settings.rules, self.settings.default)

    @cached_property
    def rules_key(self) -> str:
        """What the compiled rules depend on, as a key for derived caches."""
        document = msgspec.json.encode((self.settings.rules, self.settings.default))
        return hashlib.sha256(document).hexdigest()

    @cached_property
    def in_effect(self) -> list[Adjustment]:
        return [a for a in effective(self.adjustments) if usable(a)]

    @cached_property
    def issued(self) -> list[InvoiceEntry]:
        """Issued invoices no voided entry lifts, in journal order."""
        voided = {e.voids for e in self.invoices if e.kind == "voided" and e.voids}
        return [
            e
            for e in sorted(self.invoices, key=lambda e: e.seq)
            if e.kind == "issued" and e.id not in voided and e.start and e.end and e.client_id
        ]

    @cached_property
    def locks(self) -> list[Lock]:
        return [
            Lock(e.id, e.client_id, e.project, to_epoch(e.start), to_epoch(e.end), e.created_at)
            for e in self.issued
            if e.start is not None and e.end is not None
        ]


def _day_split(
    a: float, b: float, tz: ZoneInfo, bounds: dict[date, tuple[float, float]]
) -> list[tuple[date, float]]:
    """Seconds of ``[a, b]`` in each local day (a zero-length span: one entry of 0)."""
    day = from_epoch(a).astimezone(tz).date()
    out: list[tuple[date, float]] = []
    while True:
        span = bounds.get(day)
        if span is None:
            lo_dt, hi_dt = local_day_bounds(day, tz)
            span = bounds[day] = (to_epoch(lo_dt), to_epoch(hi_dt))
        day_end = span[1]
        out.append((day, max(0.0, min(b, day_end) - a)))
        if b <= day_end:
            return out
        a = day_end
        day = date.fromordinal(day.toordinal() + 1)


def idle_gaps(pieces: Sequence[Piece], cooldown_s: float, tz: ZoneInfo) -> list[Span]:
    """Holes in the day's work (all clients together) longer than the cooldown, between
    work on the same local day."""
    cover = union((p.start, p.end) for p in pieces if p.counted)
    out: list[Span] = []
    for (_, a), (b, _) in itertools.pairwise(cover):
        if b - a > cooldown_s and (
            from_epoch(a).astimezone(tz).date() == from_epoch(b).astimezone(tz).date()
        ):
            out.append((a, b))
    return out


def _split_at_locks(pieces: Sequence[Piece], locks: Sequence[Lock]) -> list[Piece]:
    """Pieces cut at the bounds of the locks that hold them, marked ``locked_by``."""
    if not locks:
        return list(pieces)
    out: list[Piece] = []
    for p in pieces:
        held = [lk for lk in locks if lk.holds(p.client, p.project) and lk.start < p.end]
        held = [lk for lk in held if lk.end > p.start or (p.start == p.end >= lk.start)]
        if not held:
            out.append(p)
            continue
        lk = held[0]
        if p.start == p.end:
            q = p.cut(p.start, p.end)  # a copy: base pieces may be shared with a cache
            q.locked_by = lk.invoice_id
            out.append(q)
            continue
        free, inside = subtract((p.start, p.end), [(lk.start, lk.end)])
        for x, y in inside:
            q = p.cut(x, y)
            q.locked_by = lk.invoice_id
            out.append(q)
        out.extend(_split_at_locks([p.cut(x, y) for x, y in free], locks[1:]))
    return out


def _segment(p: Piece) -> ReviewedSegment:
    """The finished segment of a piece, kept on it: a cached base piece no adjustment
    touched is finished once (its lists are shared: callers must not mutate them)."""
    if isinstance(p.view, ReviewedSegment):
        return p.view
    start, end = from_epoch(p.start), from_epoch(p.end)
    instances, seqs = p.provenance()
    p.view = seg = ReviewedSegment(
        start=start,
        end=end,
        duration_s=(end - start).total_seconds(),
        instances=instances,
        client_ids=[p.client] if p.client else [],
        summary_count=len(seqs),
        client_id=p.client,
        project=p.project,
        tags=list(p.tags),
        source=p.source,
        rule_ids=list(p.rule_ids),
        adjustment_ids=list(p.adjustment_ids),
        locked_by=p.locked_by,
        summary_seqs=seqs,
        removed=p.removed,
    )
    return seg


def _order(s: ReviewedSegment) -> tuple[datetime, datetime, str, str, list[str], str]:
    return (s.start, s.end, s.client_id or UNASSIGNED, s.project or "", s.tags, s.source)


def _totals(
    segments: Sequence[ReviewedSegment], tz: ZoneInfo
) -> tuple[list[LocalDayTotal], dict[str, float], dict[str, dict[str, float]]]:
    bounds: dict[date, tuple[float, float]] = {}
    days: dict[date, dict[str, float]] = {}
    per_client: dict[str, float] = {}
    per_project: dict[str, dict[str, float]] = {}
    for seg in segments:
        client = seg.client_id or UNASSIGNED
        for day, seconds in _day_split(to_epoch(seg.start), to_epoch(seg.end), tz, bounds):
            bucket = days.setdefault(day, {})
            bucket[client] = bucket.get(client, 0.0) + seconds
        per_client[client] = per_client.get(client, 0.0) + seg.duration_s
        projects = per_project.setdefault(client, {})
        name = seg.project or ""
        projects[name] = projects.get(name, 0.0) + seg.duration_s
    per_day = [
        LocalDayTotal(
            day=day,
            duration_s=sum(per.values()),
            per_client=dict(sorted(per.items())),
            day_length_s=bounds[day][1] - bounds[day][0],
        )
        for day, per in sorted(days.items())
    ]
    return (
        per_day,
        dict(sorted(per_client.items())),
        {c: dict(sorted(p.items())) for c, p in sorted(per_project.items())},
    )


def _decided(gaps: Sequence[Span], adjustments: Sequence[Adjustment]) -> list[IdleGap]:
    """Each gap with the idle adjustment (in seq order, the last wins) that decided it."""
    starts = [a for a, _ in gaps]
    by: list[str | None] = [None] * len(gaps)
    for adj in adjustments:
        if not adj.kind.startswith("idle_") or adj.start is None or adj.end is None:
            continue
        a, b = to_epoch(adj.start), to_epoch(adj.end)
        k = max(0, bisect_left(starts, a) - 1)
        while k < len(gaps) and gaps[k][0] < b:
            if gaps[k][1] > a:
                by[k] = adj.id
            k += 1
    return [
        IdleGap(start=from_epoch(a), end=from_epoch(b), decided_by=d)
        for (a, b), d in zip(gaps, by, strict=True)
    ]


def _wanted(p: Piece, client_id: str | None, project: str | None) -> bool:
    return (client_id is None or p.client == client_id) and (
        project is None or p.project == project
    )


def review_summaries(
    summaries: Iterable[TimelineSummary],
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None,
    inputs: ReviewInputs,
    *,
    facts: Mapping[int, Facts] | None = None,
    client_id: str | None = None,
    project: str | None = None,
    warnings: Sequence[ReadWarning] = (),
) -> ReviewedTimeline:
    """The pure core of ``reviewed_timeline``: summaries (and their facts) in, review out."""
    policy = policy or TimelinePolicy()
    lo, hi = to_epoch(start), to_epoch(end)
    base = base_pieces(summaries, policy, inputs.compiled, facts, lo, hi)
    return _review(base, start, end, policy, inputs, client_id, project, warnings)


def _review(
    base: list[Piece],
    start: datetime,
    end: datetime,
    policy: TimelinePolicy,
    inputs: ReviewInputs,
    client_id: str | None,
    project: str | None,
    warnings: Sequence[ReadWarning],
) -> ReviewedTimeline:
    """Adjustments, locks and totals over the window's base pieces (never mutated)."""
    lo, hi = to_epoch(start), to_epoch(end)
    gaps = idle_gaps(base, policy.cooldown_s, inputs.tz)
    adjustments = inputs.in_effect
    locks = inputs.locks
    pieces = apply_adjustments(base, adjustments, gaps, locks, (lo, hi)) if adjustments else base
    pieces = _split_at_locks(pieces, locks)
    kept = [p for p in pieces if _wanted(p, client_id, project)]
    segments = sorted((_segment(p) for p in kept if p.counted), key=_order)
    removed = sorted((_segment(p) for p in kept if not p.counted), key=_order)
    per_day, per_client, per_project = _totals(segments, inputs.tz)
    locked = [
        LockedPeriod(
            invoice_id=e.id,
            number=e.number,
            client_id=e.client_id,
            project=e.project,
            start=e.start,
            end=e.end,
            figures=e.figures,
        )
        for e in inputs.issued
        if e.start is not None
        and e.end is not None
        and e.start < end
        and e.end > start
        and (client_id is None or e.client_id == client_id)
    ]
    return ReviewedTimeline(
        segments=segments,
        per_day=per_day,
        per_client=per_client,
        per_project=per_project,
        timezone=inputs.tz.key,
        idle_gaps=_decided(gaps, adjustments),
        locked=locked,
        removed=removed,
        warnings=list(warnings),
    )


def reviewed_timeline(
    root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None,
    inputs: ReviewInputs,
    *,
    client_id: str | None = None,
    project: str | None = None,
    cache: DayCache | None = DEFAULT_CACHE,
    facts_cache: FactsCache | None = DEFAULT_FACTS,
    now: datetime | None = None,
) -> ReviewedTimeline:
    """The reviewed timeline of ``[start, end]`` read from the data root (the edge):
    the ledger through the day cache, facts only when a rule needs them. With a day
    cache, closed runs of days keep their categorized pieces there (``base``)."""
    with collector_paused():
        return _read_and_review(
            root, start, end, policy, inputs, client_id, project, cache, facts_cache, now
        )


def _read_and_review(
    root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None,
    inputs: ReviewInputs,
    client_id: str | None,
    project: str | None,
    cache: DayCache | None,
    facts_cache: FactsCache | None,
    now: datetime | None,
) -> ReviewedTimeline:
    if cache is not None:
        policy = policy or TimelinePolicy()
        check_window(start, end)
        base, read_warnings = cached_base(
            root,
            start,
            end,
            policy,
            inputs.compiled,
            inputs.rules_key,
            cache=cache,
            facts_cache=facts_cache,
            now=now,
        )
        return _review(base, start, end, policy, inputs, client_id, project, read_warnings)
    facts: dict[int, Facts] | None = None
    if inputs.compiled.needs_facts:
        check_window(start, end)
        summaries, warnings, facts = read_evidence_and_facts(root, start, end)
    else:
        summaries, warnings = read_evidence(root, start, end, cache=None, now=now)
    return review_summaries(
        summaries,
        start,
        end,
        policy,
        inputs,
        facts=facts,
        client_id=client_id,
        project=project,
        warnings=warnings,
    )


__all__ = ["ReviewInputs", "idle_gaps", "review_summaries", "reviewed_timeline"]
