"""Pure policies: restart backoff and quarantine, token buckets, CPU budgets."""

from __future__ import annotations

import random

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from mimolo.operations.backoff import RestartPolicy, RestartTracker
from mimolo.operations.budget import Measurement, classify, effective_budgets, over_budget
from mimolo.operations.ratelimit import TokenBucket

POLICY = RestartPolicy(initial_s=1, max_s=8, stable_after_s=30, max_restarts=4, window_s=100)


def test_backoff_grows_capped_with_jitter_and_quarantines() -> None:
    tracker = RestartTracker(POLICY, random.Random(7))
    delays = []
    now = 0.0
    for _ in range(4):
        decision = tracker.on_exit(now=now, ran_for_s=0.5)
        assert decision.action == "restart"
        delays.append(decision.delay_s)
        now += decision.delay_s + 0.5
    for attempt, delay in enumerate(delays):
        cap = min(8.0, 2.0**attempt)
        assert cap / 2 <= delay <= cap
    assert tracker.on_exit(now=now, ran_for_s=0.5).action == "quarantine"


def test_stable_run_resets_attempts_and_window_forgets() -> None:
    tracker = RestartTracker(POLICY, random.Random(1))
    for i in range(3):
        tracker.on_exit(now=float(i), ran_for_s=0.1)
    assert tracker.attempt == 3
    decision = tracker.on_exit(now=10.0, ran_for_s=60.0)
    assert decision.attempt == 1 and decision.delay_s <= 1.0
    # long after the window, the history is gone: no quarantine
    for i in range(4):
        assert tracker.on_exit(now=1000.0 + i * 200, ran_for_s=0.1).action == "restart"
    tracker.reset()
    assert tracker.attempt == 0


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_delay_is_always_within_bounds(attempt: int, seed: int) -> None:
    tracker = RestartTracker(POLICY, random.Random(seed))
    delay = tracker.delay_for(attempt)
    assert 0.5 <= delay <= POLICY.max_s


def test_token_bucket_burst_then_average_rate() -> None:
    bucket = TokenBucket(1 / 3, 10, now=0.0)
    assert sum(bucket.allow(0.0) for _ in range(50)) == 10
    assert not bucket.allow(2.9)
    assert bucket.allow(3.1)
    # over 300 s of flooding only ~100 more pass (1 per 3 s)
    passed = sum(bucket.allow(3.1 + i * 0.01) for i in range(30_000))
    assert 95 <= passed <= 101
    assert bucket.tokens(10_000.0) == 10


def test_unlimited_bucket() -> None:
    bucket = TokenBucket(0, 1, now=0.0)
    assert bucket.unlimited
    assert all(bucket.allow(0.0) for _ in range(10_000))


def test_budgets_capped_and_scaled_into_envelope() -> None:
    plan = effective_budgets(
        {"a": None, "b": 50.0, "c": 3.0},
        default_percent=2,
        max_percent=10,
        envelope_percent=50,
        ops_percent=5,
    )
    assert plan.budgets == {"a": 2.0, "b": 10.0, "c": 3.0}
    assert plan.scale == 1.0
    many = effective_budgets(
        {f"i{n}": 10.0 for n in range(10)},
        default_percent=2,
        max_percent=10,
        envelope_percent=50,
        ops_percent=5,
    )
    assert many.scale == 45 / 100
    assert sum(many.budgets.values()) <= 45.0 + 1e-6


def test_classification() -> None:
    base = Measurement(
        cpu_percent=1.0,
        budget_percent=2.0,
        heartbeat_age_s=1.0,
        heartbeat_interval_s=15.0,
        agent_health="ok",
    )
    assert classify(base) == "healthy"
    assert classify(base, quarantined=True) == "quarantined"
    late = msgspec.structs.replace(base, heartbeat_age_s=31.0)
    assert classify(late) == "degraded"
    said = msgspec.structs.replace(base, agent_health="overload")
    assert classify(said) == "degraded"
    hot = msgspec.structs.replace(base, over_budget_samples=3)
    assert classify(hot) == "over_budget"
    assert over_budget(5.0, 2.0) and not over_budget(None, 2.0) and not over_budget(1.0, 2.0)
