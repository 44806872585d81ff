"""The one backoff: doubling from the initial delay, capped, jittered only when asked."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from mimolo.backoff import backoff_delay


def test_doubles_and_caps() -> None:
    delays = [backoff_delay(n, initial_s=0.25, max_s=2.0) for n in range(7)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert backoff_delay(10_000, initial_s=0.25, max_s=2.0) == 2.0


def test_a_negative_attempt_is_the_first() -> None:
    assert backoff_delay(-1, initial_s=0.25, max_s=2.0) == 0.25


def test_the_same_seed_gives_the_same_jitter() -> None:
    first = [backoff_delay(n, initial_s=1, max_s=8, rng=random.Random(3)) for n in range(5)]
    again = [backoff_delay(n, initial_s=1, max_s=8, rng=random.Random(3)) for n in range(5)]
    assert first == again


@given(
    attempt=st.integers(min_value=-5, max_value=10_000),
    initial=st.floats(min_value=0.001, max_value=10.0),
    cap=st.floats(min_value=10.0, max_value=600.0),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_jitter_stays_within_half_and_all_of_the_capped_delay(
    attempt: int, initial: float, cap: float, seed: int
) -> None:
    plain = backoff_delay(attempt, initial_s=initial, max_s=cap)
    jittered = backoff_delay(attempt, initial_s=initial, max_s=cap, rng=random.Random(seed))
    assert initial <= plain <= cap
    assert plain / 2 <= jittered <= plain
