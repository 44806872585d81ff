"""Evidence to work segments grouped by category (the first stage of review, pure).

The same rules as ``derive_timeline`` (DESIGN §6), but activity is grouped by whatever
key a classifier gives each summary (a rule's assignment, or a rule id when measuring
what each rule catches), and each segment keeps the summaries it was built from, so it
can name its ledger records. With the evidence client as the key this gives exactly
``derive_timeline``'s grouped segments (tests check it).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from operator import attrgetter
from typing import Generic, Protocol, TypeVar

from mimolo.timeline.models import TimelinePolicy, TimelineSummary

K = TypeVar("K", bound=Hashable)
Placement = tuple[K, str | None, str | None]
"""A summary's ``(group key, client it belongs to, rule id that placed it)``."""


class Classifier(Protocol[K]):
    """Places summaries; ``memo`` holds the placement per ``(instance_id, plugin_id,
    client_id, mode, facts)`` so the hot loop resolves each distinct one once."""

    @property
    def facts(self) -> Mapping[int, Hashable]: ...

    @property
    def memo(self) -> dict[tuple[object, ...], Placement[K]]: ...

    def resolve(self, s: TimelineSummary, facts: Hashable | None) -> Placement[K]: ...


_by_start = attrgetter("start")


class BaseSegment(Generic[K]):
    """A segment under construction, then the stage's output (mutable, internal)."""

    __slots__ = ("client", "count", "end", "instances", "key", "members", "rule_ids", "start")

    def __init__(self, start: float, end: float, key: K, client: str | None) -> None:
        self.start = start
        self.end = end
        self.key = key
        self.client = client
        self.instances: set[str] = set()
        self.count = 0
        self.members: list[TimelineSummary] = []
        self.rule_ids: set[str] = set()


def _merge(
    items: list[tuple[TimelineSummary, str | None]],
    key: K,
    client: str | None,
    cooldown_s: float,
) -> list[BaseSegment[K]]:
    """Join activity that starts within the cooldown of the segment's last (one pass)."""
    items.sort(key=lambda item: item[0].start)
    out: list[BaseSegment[K]] = []
    cur: BaseSegment[K] = BaseSegment(math.nan, math.nan, key, client)
    cur_end = -math.inf
    for s, rule_id in items:
        if s.start - cur_end > cooldown_s:
            cur = BaseSegment(s.start, s.end, key, client)
            out.append(cur)
            cur_end = s.end
        elif s.end > cur_end:
            cur_end = cur.end = s.end
        cur.instances.add(s.instance_id)
        cur.count += 1
        cur.members.append(s)
        if rule_id is not None:
            cur.rule_ids.add(rule_id)
    return out


def _attach(
    others: list[tuple[TimelineSummary, str | None]],
    segs: list[BaseSegment[K]],
    lo: float,
    hi: float,
) -> None:
    """Count non-activity summaries in the segments of their client (or, without one, in
    every segment) they overlap: one sweep by start, as ``derive_timeline`` does, pruning
    the open segments only when one of them has ended."""
    others.sort(key=lambda item: item[0].start)
    open_: list[BaseSegment[K]] = []
    min_end = math.inf  # the earliest end among the open segments
    n = len(segs)
    j = 0
    for s, client in others:
        a = s.start if s.start > lo else lo
        b = s.end if s.end < hi else hi
        while j < n and segs[j].start <= b:
            seg = segs[j]
            open_.append(seg)
            if seg.end < min_end:
                min_end = seg.end
            j += 1
        if min_end < a:  # some open segment ended before this summary: none later reach it
            open_ = [seg for seg in open_ if seg.end >= a]
            min_end = min((seg.end for seg in open_), default=math.inf)
        if not open_:
            continue
        for seg in open_:
            if seg.start > b or (client is not None and seg.client != client):
                continue
            seg.instances.add(s.instance_id)
            seg.count += 1
            seg.members.append(s)


def categorize(
    summaries: Iterable[TimelineSummary],
    policy: TimelinePolicy,
    classify: Classifier[K],
    lo: float = -math.inf,
    hi: float = math.inf,
) -> list[BaseSegment[K]]:
    """Segments per group key, clipped to ``[lo, hi]``, sorted by ``(start, end)``."""
    active_set = policy.active_instances
    activity: dict[K, tuple[str | None, list[tuple[TimelineSummary, str | None]]]] = {}
    others: list[tuple[TimelineSummary, str | None]] = []
    facts = classify.facts
    facts_get = facts.get
    memo = classify.memo
    memo_get = memo.get
    resolve = classify.resolve
    for s in summaries:
        if s.end < lo or s.start > hi or s.end < s.start:
            continue
        f = facts_get(s.seq) if facts else None
        mk = (s.instance_id, s.plugin_id, s.client_id, s.mode, f)
        placed = memo_get(mk)
        if placed is None:
            placed = memo[mk] = resolve(s, f)
        key, client, rule_id = placed
        if s.keep_alive is True and (
            s.mode == "active" if active_set is None else s.instance_id in active_set
        ):
            bucket = activity.get(key)
            if bucket is None:
                bucket = activity[key] = (client, [])
            bucket[1].append((s, rule_id))
        else:
            others.append((s, client))
    every: list[BaseSegment[K]] = []
    for key, (client, items) in activity.items():
        for seg in _merge(items, key, client, policy.cooldown_s):
            seg.start, seg.end = max(seg.start, lo), min(seg.end, hi)
            every.append(seg)
    every.sort(key=_by_start)
    _attach(others, every, lo, hi)
    every.sort(key=lambda seg: (seg.start, seg.end))
    return every


__all__ = ["BaseSegment", "Classifier", "categorize"]
