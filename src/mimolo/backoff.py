"""Capped exponential backoff, optionally with jitter. Pure: randomness is passed in.

One formula for every retry in MiMoLo: an agent's restart (``operations.backoff``), the IPC
client's connect attempts, the retried IPC requests (``ipc.resilient``) and Control's
reconnect to Operations (``control.ops_link``).
"""

from __future__ import annotations

import random

_MAX_DOUBLINGS = 30  # 2**30 times the initial delay is past any cap; keeps the float finite


def backoff_delay(
    attempt: int, *, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Delay after failed attempt ``attempt`` (0-based): ``initial_s`` doubling, at most
    ``max_s``; with ``rng``, a uniform jitter in ``[d/2, d]`` so retries do not align."""
    doublings = min(max(attempt, 0), _MAX_DOUBLINGS)
    capped = float(min(max_s, initial_s * 2.0**doublings))
    if rng is None:
        return capped
    return capped * (0.5 + 0.5 * rng.random())


__all__ = ["backoff_delay"]
