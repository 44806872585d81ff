"""The derived store's bounds, the runs' bounds under a policy, and the paused collector."""

from __future__ import annotations

import gc
import math

import pytest

from mimolo.timeline import TimelinePolicy
from mimolo.timeline.collector import collector_paused
from mimolo.timeline.runs import EMPTY, DerivedCache, bounds_of, policy_key

from ._builders import BASE_S, summ


def test_derived_cache_drops_the_least_recent_beyond_its_weight_or_entries() -> None:
    cache: DerivedCache[str] = DerivedCache(max_entries=3, max_weight=10)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == "A"  # now the most recent
    cache.put("c", "C", 4)  # 12 > 10: the least recent ("b") goes
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, "A", "C")
    for key in "defg":
        cache.put(key, key.upper(), 0)
    assert len(cache) == 3
    cache.put("huge", "H", 100)  # one entry is always kept, however heavy
    assert len(cache) == 1 and cache.get("huge") == "H"
    cache.clear()
    assert len(cache) == 0 and cache.get("huge") is None
    with pytest.raises(ValueError):
        DerivedCache(max_entries=0)


def test_bounds_reach_past_activity_by_the_cooldown_only() -> None:
    policy = TimelinePolicy(cooldown_s=600)
    items = [
        summ("fa", 0, 10),  # activity ending at minute 10
        summ("screen", 5, 30, mode="passive", keep_alive=None),  # ends later, not activity
        summ("fb", 2, 40, keep_alive=False),  # active without keep-alive: not activity
    ]
    b = bounds_of(items, policy)
    assert (b.lo, b.hi) == (BASE_S, BASE_S + 40 * 60)
    assert b.reach == max(BASE_S + 40 * 60, BASE_S + 10 * 60 + 600)
    only = TimelinePolicy(cooldown_s=600, active_instances=frozenset({"fb"}))
    assert bounds_of([summ("fa", 0, 10)], only).reach == BASE_S + 10 * 60  # fa is not active
    assert bounds_of([], policy) == EMPTY and EMPTY.lo == math.inf


def test_policy_key_names_what_derivation_reads() -> None:
    a = TimelinePolicy(cooldown_s=60, client_of_instance={"x": "acme", "a": "b"})
    b = TimelinePolicy(cooldown_s=60, client_of_instance={"a": "b", "x": "acme"})
    assert policy_key(a) == policy_key(b)
    assert policy_key(a) != policy_key(TimelinePolicy(cooldown_s=61))
    assert hash(policy_key(TimelinePolicy(active_instances=frozenset({"b", "a"}))))


def test_collector_paused_restores_what_it_found() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it paused and left it so
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("fails inside")
    assert gc.isenabled()
