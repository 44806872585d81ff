"""Back-pressure for one agent: what it may write, and an exact count of what it may not.

Every message type is budgeted (DESIGN §4): summaries by their own count bucket and a
bytes-per-second cap on evidence; every other type (acks, logs, status, errors,
heartbeats, widget frames, rejected lines, stderr) by one shared bucket. Replies Operations
asked for (the ack of a command it waits on, the frame of a render it requested) are free:
Operations bounds its own requests. An agent over its budget is also read more slowly
(``take_pressure``): its pipe fills and it blocks on its own writes, so a flood costs
Operations little CPU. Drops are cumulative counters that survive restarts;
``take_report`` hands out what is not yet reported, at most every ``report_every_s``, for a
record that is never itself dropped. Pure: the caller passes the time.
"""

from __future__ import annotations

from collections import Counter

from mimolo.operations.ratelimit import TokenBucket
from mimolo.protocol.config_schema import Settings

REPORT_EVERY_S = 5.0


class AgentBudget:
    """The buckets and drop counters of one instance."""

    def __init__(self, settings: Settings, *, now: float) -> None:
        self.drops: Counter[str] = Counter()
        self._unreported: Counter[str] = Counter()
        self._last_report = now
        self._pressure = False
        self.reset(settings, now=now)

    def reset(self, settings: Settings, *, now: float) -> None:
        """Full buckets (a new run, or new settings); the counters are kept."""
        self.messages = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst, now=now)
        self.summaries = TokenBucket(
            settings.summary_rate_limit_per_s, settings.summary_rate_limit_burst, now=now
        )
        # A bucket smaller than the largest line would refuse that line forever.
        burst = max(settings.evidence_bytes_burst, settings.max_line_bytes)
        self.evidence = TokenBucket(settings.evidence_bytes_per_s, burst, now=now)

    def admit(self, kind: str, now: float) -> bool:
        """One message of ``kind`` (not a summary); False means it was dropped and counted."""
        if self.messages.allow(now):
            return True
        self.drop(kind)
        return False

    def admit_summary(self, size: int, now: float) -> bool:
        """One summary line of ``size`` bytes against both evidence limits."""
        if self.summaries.tokens(now) < 1.0:
            self.drop("summary")
            return False
        if not self.evidence.allow(now, float(size)):
            self.drop("summary_bytes")
            return False
        self.summaries.allow(now)
        return True

    def drop(self, kind: str, count: int = 1) -> None:
        self.drops[kind] += count
        self._unreported[kind] += count
        self._pressure = True

    def take_pressure(self) -> bool:
        """Whether anything was dropped since the last call (the reader then slows down)."""
        pressure, self._pressure = self._pressure, False
        return pressure

    @property
    def total(self) -> int:
        return sum(self.drops.values())

    @property
    def unreported(self) -> int:
        return sum(self._unreported.values())

    def take_report(self, now: float, *, every_s: float = REPORT_EVERY_S) -> Counter[str] | None:
        """Drops not yet reported, if any and the last report is ``every_s`` old."""
        if not self._unreported or now - self._last_report < every_s:
            return None
        report, self._unreported = self._unreported, Counter()
        self._last_report = now
        return report

    def take_all(self, now: float) -> Counter[str] | None:
        """Everything unreported now (at a stop, so nothing is left uncounted)."""
        return self.take_report(now, every_s=0.0)


__all__ = ["REPORT_EVERY_S", "AgentBudget"]
