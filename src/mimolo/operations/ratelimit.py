"""Token-bucket rate limiting for agent messages. Pure: the caller passes the time."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; ``rate <= 0`` means unlimited."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, *, now: float) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = now

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if available at ``now``; False means drop (and count) it."""
        if self.rate <= 0:
            return True
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def tokens(self, now: float) -> float:
        """Tokens available at ``now`` (for state reporting)."""
        if self.rate <= 0:
            return float("inf")
        return min(float(self.burst), self._tokens + max(0.0, now - self._last) * self.rate)


__all__ = ["TokenBucket"]
