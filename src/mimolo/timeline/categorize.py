"""Evidence to work segments grouped by category (the first stage of review, pure).

The same rules as ``derive_timeline`` (DESIGN §6), but activity is grouped by whatever
key a classifier gives each summary (a rule's assignment, or a rule id when measuring
what each rule catches), and each segment keeps the summaries it was built from, so it
can name its ledger records. With the evidence client as the key this gives exactly
``derive_timeline``'s grouped segments (tests check it).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable, Mapping
from operator import attrgetter, sub
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

    def facts_matter(self, s: TimelineSummary) -> bool:
        """Whether facts can change where summaries like ``s`` (same instance, plugin,
        client and mode) go; when not, the hot loop never looks them up."""
        ...


_by_start = attrgetter("start")
_by_end = attrgetter("end")


def _item_start(item: tuple[TimelineSummary, object]) -> float:
    return item[0].start


_Slot = tuple[
    list[tuple[TimelineSummary, str | None]] | None,  # its key's activity, if it can act
    str | None,  # the rule that placed it
    list[TimelineSummary],  # its client's short non-activity summaries
    str | None,  # its client
]
SHORT_S = 900.0
"""Non-activity summaries up to this long are attached by bisect; longer ones by a sweep."""


class BaseSegment(Generic[K]):
    """A segment under construction, then the stage's output (mutable, internal)."""

    __slots__ = ("client", "end", "key", "members", "rule_ids", "start")

    def __init__(self, start: float, end: float, key: K, client: str | None) -> None:
        self.start = start
        self.end = end
        self.key = key
        self.client = client
        self.members: list[TimelineSummary] = []
        self.rule_ids: set[str] = set()


def _merge(
    items: list[tuple[TimelineSummary, str | None]],
    key: K,
    client: str | None,
    cooldown_s: float,
) -> list[BaseSegment[K]]:
    """Join activity that starts within the cooldown of the segment's last (one pass)."""
    items.sort(key=_item_start)
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
        cur.members.append(s)
        if rule_id is not None:
            cur.rule_ids.add(rule_id)
    return out


class _Sorted:
    """Short non-activity summaries of one client (or of none), sorted by start, with
    their starts and the longest one's length: what overlaps a span is a slice."""

    __slots__ = ("items", "longest", "starts")

    def __init__(self, items: list[TimelineSummary]) -> None:
        items.sort(key=_by_start)
        self.items = items
        self.starts = list(map(_by_start, items))
        ends = list(map(_by_end, items))
        self.longest = max(map(sub, ends, self.starts), default=0.0)

    def attach(self, seg: BaseSegment[K]) -> None:
        """Add the summaries overlapping ``[seg.start, seg.end]`` (closed) to ``seg``."""
        a, b = seg.start, seg.end
        starts, items = self.starts, self.items
        k = bisect_left(starts, a)
        j = bisect_right(starts, b, k)
        first = bisect_left(starts, a - self.longest, 0, k)
        members = seg.members
        for i in range(first, k):  # the few that start before the segment
            if items[i].end >= a:
                members.append(items[i])
        members.extend(items[k:j])


def _attach(
    others: list[tuple[TimelineSummary, str | None]],
    segs: list[BaseSegment[K]],
    lo: float,
    hi: float,
) -> None:
    """Count long non-activity summaries in the segments of their client (or, without
    one, in every segment) they overlap: one sweep by start, as ``derive_timeline`` does,
    pruning the open segments only when one of them has ended."""
    others.sort(key=_item_start)
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
        for seg in open_:
            if seg.start > b or (client is not None and seg.client != client):
                continue
            seg.members.append(s)


def categorize(
    summaries: Iterable[TimelineSummary],
    policy: TimelinePolicy,
    classify: Classifier[K],
    lo: float = -math.inf,
    hi: float = math.inf,
) -> list[BaseSegment[K]]:
    """Segments per group key, clipped to ``[lo, hi]``, sorted by ``(start, end)``.

    A segment's members are its activity (by start), then what else overlaps it."""
    active_set = policy.active_instances
    activity: dict[K, tuple[str | None, list[tuple[TimelineSummary, str | None]]]] = {}
    short: dict[str | None, list[TimelineSummary]] = {}
    long: list[tuple[TimelineSummary, str | None]] = []
    facts_get = classify.facts.get
    memo = classify.memo

    def slot_of(s: TimelineSummary, placed: Placement[K]) -> _Slot:
        key, client, rule_id = placed
        if s.mode == "active" if active_set is None else s.instance_id in active_set:
            bucket = activity.get(key)
            if bucket is None:
                bucket = activity[key] = (client, [])
            acting: list[tuple[TimelineSummary, str | None]] | None = bucket[1]
        else:
            acting = None
        group = short.get(client)
        if group is None:
            group = short[client] = []
        return (acting, rule_id, group, client)

    def with_facts(s: TimelineSummary, f: Hashable) -> _Slot:
        mk = (s.instance_id, s.plugin_id, s.client_id, s.mode, f)
        slot = fact_slots.get(mk)
        if slot is None:
            placed = memo.get(mk)
            if placed is None:
                placed = memo[mk] = classify.resolve(s, f)
            slot = fact_slots[mk] = slot_of(s, placed)
        return slot

    # per (instance, plugin, client, mode): its slot without facts, and whether facts
    # can change it (then each summary's facts are looked up)
    slots: dict[tuple[str, str, str | None, str], tuple[_Slot, bool]] = {}
    fact_slots: dict[tuple[object, ...], _Slot] = {}
    slots_get = slots.get
    any_facts = bool(classify.facts)
    for s in summaries:
        if s.end < lo or s.start > hi or s.end < s.start:
            continue
        ident = (s.instance_id, s.plugin_id, s.client_id, s.mode)
        seen = slots_get(ident)
        if seen is None:
            mk = (*ident, None)
            placed = memo.get(mk)
            if placed is None:
                placed = memo[mk] = classify.resolve(s, None)
            seen = slots[ident] = (slot_of(s, placed), any_facts and classify.facts_matter(s))
        slot, facts_matter = seen
        if facts_matter:
            f = facts_get(s.seq)
            if f is not None:
                slot = with_facts(s, f)
        acting, rule_id, group, client = slot
        if acting is not None and s.keep_alive is True:
            acting.append((s, rule_id))
        elif s.end - s.start <= SHORT_S:
            group.append(s)
        else:
            long.append((s, client))
    every: list[BaseSegment[K]] = []
    for key, (client, items) in activity.items():
        for seg in _merge(items, key, client, policy.cooldown_s):
            seg.start, seg.end = max(seg.start, lo), min(seg.end, hi)
            every.append(seg)
    every.sort(key=_by_start)
    anyone = _Sorted(short.pop(None, []))
    by_client = {c: _Sorted(items) for c, items in short.items()}
    for seg in every:
        anyone.attach(seg)
        mine = by_client.get(seg.client)
        if mine is not None:
            mine.attach(seg)
    if long:
        _attach(long, every, lo, hi)
    every.sort(key=lambda seg: (seg.start, seg.end))
    return every


__all__ = ["BaseSegment", "Classifier", "categorize"]
