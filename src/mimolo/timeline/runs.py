"""Runs of ledger files that no derived segment crosses (the review's unit of caching).

Two neighbouring groups of files are independent when everything in the earlier one (its
summaries' ends, its activity's ends plus the cooldown) lies strictly before everything in
the later one: no segment joins across, and no summary of one overlaps a segment of the
other. Categorizing a window is then exactly the concatenation of its runs', so a closed
run's pieces can be kept and a repeated view recomputes only adjustments, locks and totals.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

import msgspec

from mimolo.timeline.models import TimelinePolicy, TimelineSummary

V = TypeVar("V")


class Bounds(msgspec.Struct, frozen=True, gc=False):
    """Where one file's summaries lie under a policy: earliest start, latest end, and
    ``reach``, the latest time anything in it can join or overlap (activity's end plus
    the cooldown). An empty file has ``lo = inf`` and ``hi = reach = -inf``."""

    lo: float
    hi: float
    reach: float


EMPTY = Bounds(math.inf, -math.inf, -math.inf)


def bounds_of(summaries: Iterable[TimelineSummary], policy: TimelinePolicy) -> Bounds:
    """The bounds of one file's summaries (every summary, used or not: conservative)."""
    active_set = policy.active_instances
    lo, hi, act = math.inf, -math.inf, -math.inf
    for s in summaries:
        if s.start < lo:
            lo = s.start
        if s.end > hi:
            hi = s.end
        if (
            s.keep_alive is True
            and s.end > act
            and (s.mode == "active" if active_set is None else s.instance_id in active_set)
        ):
            act = s.end
    if lo == math.inf:
        return EMPTY
    return Bounds(lo, hi, max(hi, act + policy.cooldown_s))


def split_runs(bounds: Sequence[Bounds]) -> list[tuple[int, int]]:
    """``[i, j)`` index ranges of independent runs, in order; runs of empty files only
    are left out."""
    n = len(bounds)
    suffix_lo = [math.inf] * (n + 1)
    for i in range(n - 1, -1, -1):
        suffix_lo[i] = min(suffix_lo[i + 1], bounds[i].lo)
    out: list[tuple[int, int]] = []
    first = 0
    reach = -math.inf
    filled = False
    for i, b in enumerate(bounds):
        if filled and reach < suffix_lo[i]:
            out.append((first, i))
            first, filled = i, False
        reach = max(reach, b.reach)
        filled = filled or b.lo != math.inf
    if filled:
        out.append((first, n))
    return out


def policy_key(policy: TimelinePolicy) -> Hashable:
    """What of a policy derivation depends on, as a hashable key."""
    active = None if policy.active_instances is None else tuple(sorted(policy.active_instances))
    return (
        policy.cooldown_s,
        active,
        tuple(sorted(policy.client_of_instance.items())),
        policy.group_by_client,
    )


class DerivedCache(Generic[V]):
    """A thread-safe LRU of derived values, bounded in entries and in a total weight
    (summaries referenced); the caller's key must name every input of the value."""

    def __init__(self, max_entries: int = 2_000, max_weight: int = 6_000_000) -> None:
        if max_entries < 1 or max_weight < 1:
            raise ValueError("max_entries and max_weight must be at least 1")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self.hits = 0
        self.misses = 0
        self._weight = 0
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V, weight: int = 1) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries or self._weight > self.max_weight
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0


__all__ = ["EMPTY", "Bounds", "DerivedCache", "bounds_of", "policy_key", "split_runs"]
