"""The review's first stage over a window: evidence categorized into base pieces.

``base_pieces`` is the pure pass over summaries. ``cached_base`` reads the window's ledger
files through the day cache and categorizes them run by run (``runs``), keeping each
closed run that lies wholly inside the window in the day cache's ``derived`` store, keyed
by its files' identities, the rules and the policy: a repeated view reuses the pieces and
recomputes only adjustments, locks and totals. Both give the same pieces (tests check it).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from mimolo.dataroot import DataRoot
from mimolo.timeline.cache import DayCache
from mimolo.timeline.categorize import categorize
from mimolo.timeline.facts import Facts, FactsCache, parse_facts
from mimolo.timeline.identity import FileIdentity
from mimolo.timeline.models import TimelinePolicy, TimelineSummary, to_epoch
from mimolo.timeline.pieces import Piece
from mimolo.timeline.reader import ReadWarning, evidence_days
from mimolo.timeline.rules import Classifier, CompiledRules, GroupKey
from mimolo.timeline.runs import Bounds, bounds_of, policy_key, split_runs

Memo = dict[tuple[object, ...], tuple[object, str | None, str | None]]


def _order(p: Piece) -> tuple[float, float, str, str, tuple[str, ...], bool]:
    """A total order of base pieces (ties between categories broken by category), so
    the pieces do not depend on which run or input order they came from."""
    return (p.start, p.end, p.client or "", p.project or "", p.tags, p.client is None)


def base_pieces(
    summaries: Iterable[TimelineSummary],
    policy: TimelinePolicy,
    compiled: CompiledRules,
    facts: Mapping[int, Facts] | None,
    lo: float,
    hi: float,
    memo: Memo | None = None,
) -> list[Piece]:
    """Segments per category (rules applied), clipped to ``[lo, hi]``, as pieces."""
    classify = Classifier(compiled, policy.client_of_instance, facts)
    if memo is not None:
        classify.memo = memo
    out = [
        Piece(
            seg.start,
            seg.end,
            *cast(GroupKey, seg.key),
            "evidence",
            rule_ids=tuple(sorted(seg.rule_ids)),
            members=tuple(seg.members),  # untracked by the collector once it has seen it
        )
        for seg in categorize(summaries, policy, classify, lo, hi)
    ]
    out.sort(key=_order)
    return out


class _File:
    __slots__ = ("bounds", "identity", "path", "summaries")

    def __init__(
        self, path: Path, identity: FileIdentity | None, summaries: Sequence[TimelineSummary]
    ) -> None:
        self.path = path
        self.identity = identity
        self.summaries = summaries
        self.bounds: Bounds | None = None


def _bounds(cache: DayCache, f: _File, policy: TimelinePolicy, pkey: Hashable) -> Bounds:
    if f.identity is None:
        return bounds_of(f.summaries, policy)
    key = ("bounds", f.identity, pkey)
    hit = cache.derived.get(key)
    if hit is not None:
        return cast(Bounds, hit)
    got = bounds_of(f.summaries, policy)
    cache.derived.put(key, got, 0)
    return got


def _run_facts(files: list[_File], facts_cache: FactsCache | None) -> dict[int, Facts]:
    out: dict[int, Facts] = {}
    for f in files:
        if facts_cache is not None:
            out.update(facts_cache.read(f.path))
            continue
        try:
            out.update(parse_facts(f.path.read_bytes()))
        except FileNotFoundError:
            continue
    return out


def cached_base(
    root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy,
    compiled: CompiledRules,
    rules_key: Hashable,
    *,
    cache: DayCache,
    facts_cache: FactsCache | None,
    now: datetime | None = None,
) -> tuple[list[Piece], list[ReadWarning]]:
    """``base_pieces`` of ``[start, end]`` read from the data root, run by run, closed
    runs wholly inside the window kept in ``cache.derived``."""
    today: date = (now or datetime.now(UTC)).astimezone(UTC).date()
    lo, hi = to_epoch(start), to_epoch(end)
    pkey = policy_key(policy)
    files: list[_File] = []
    warnings: list[ReadWarning] = []
    for day in evidence_days(start.astimezone(UTC), end.astimezone(UTC)):
        path = root.evidence_file(day)
        identity, got, warn = cache.read_identified(path, day, today)
        warnings.extend(warn)
        if got:
            f = _File(path, identity, got)
            f.bounds = _bounds(cache, f, policy, pkey)
            files.append(f)
    bounds = [cast(Bounds, f.bounds) for f in files]
    memo: Memo = {}
    pieces: list[Piece] = []
    for i, j in split_runs(bounds):
        run = files[i:j]
        run_lo = min(b.lo for b in bounds[i:j])
        run_hi = max(b.hi for b in bounds[i:j])
        if run_hi < lo or run_lo > hi:
            continue
        identities = tuple(f.identity for f in run)
        whole = lo <= run_lo and run_hi <= hi and None not in identities
        key = ("base", identities, rules_key, pkey)
        if whole:
            hit = cache.derived.get(key)
            if hit is not None:
                pieces.extend(cast(list[Piece], hit))
                continue
        summaries = list(itertools.chain.from_iterable(f.summaries for f in run))
        facts = _run_facts(run, facts_cache) if compiled.needs_facts else None
        made = base_pieces(summaries, policy, compiled, facts, lo, hi, memo)
        if whole:
            cache.derived.put(key, made, len(summaries))
        pieces.extend(made)
    return pieces, warnings


__all__ = ["base_pieces", "cached_base"]
