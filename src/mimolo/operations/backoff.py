"""Restart policy: capped exponential backoff with jitter (``mimolo.backoff``), reset after
a stable run, and quarantine after too many restarts in a window. Pure: time and randomness
are passed in.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Literal

import msgspec

from mimolo.backoff import backoff_delay


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The knobs, straight from ``[settings]``."""

    initial_s: float = 1.0
    max_s: float = 60.0
    stable_after_s: float = 60.0
    max_restarts: int = 5
    window_s: float = 300.0


class RestartDecision(msgspec.Struct, frozen=True):
    """What to do after an agent exited on its own: restart after ``delay_s``, or quarantine."""

    action: Literal["restart", "quarantine"]
    delay_s: float
    attempt: int
    restarts_in_window: int


class RestartTracker:
    """Per-instance restart history. ``on_exit`` is called each time the agent dies."""

    def __init__(self, policy: RestartPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self._attempt = 0
        self._recent: deque[float] = deque()

    @property
    def attempt(self) -> int:
        return self._attempt

    def reset(self) -> None:
        """Forget the history (the user started the agent by hand)."""
        self._attempt = 0
        self._recent.clear()

    def delay_for(self, attempt: int) -> float:
        """Capped exponential delay with jitter in ``[d/2, d]`` for the given attempt (0-based)."""
        policy = self.policy
        return backoff_delay(attempt, initial_s=policy.initial_s, max_s=policy.max_s, rng=self._rng)

    def on_exit(self, *, now: float, ran_for_s: float) -> RestartDecision:
        """Decide after an unexpected exit at ``now`` of a run that lasted ``ran_for_s``."""
        if ran_for_s >= self.policy.stable_after_s:
            self._attempt = 0
        while self._recent and now - self._recent[0] > self.policy.window_s:
            self._recent.popleft()
        self._recent.append(now)
        if len(self._recent) > self.policy.max_restarts:
            return RestartDecision("quarantine", 0.0, self._attempt, len(self._recent))
        delay = self.delay_for(self._attempt)
        self._attempt += 1
        return RestartDecision("restart", delay, self._attempt, len(self._recent))


__all__ = ["RestartDecision", "RestartPolicy", "RestartTracker"]
