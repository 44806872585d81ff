"""Where the timeline view gets its data: the ledger files, read and derived on request."""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.timeline.derive import derive_timeline
from mimolo.timeline.models import Timeline, TimelinePolicy, TimelineSummary
from mimolo.timeline.reader import evidence_days, overlapping, read_file

log = logging.getLogger(__name__)

MAX_WARNINGS = 50


class TimelineResult(msgspec.Struct, kw_only=True):
    """A derived timeline and the (bounded) list of lines that could not be read."""

    timeline: Timeline
    warnings: list[str]
    summaries: int


def load_summaries(
    root: DataRoot, start: datetime, end: datetime
) -> tuple[list[TimelineSummary], list[str]]:
    """Summaries overlapping ``[start, end]`` from the daily ledger files."""
    found: list[TimelineSummary] = []
    warnings: list[str] = []
    for day in evidence_days(start, end):
        path = root.evidence_file(day)
        if not path.exists():
            continue
        summaries, bad = read_file(path)
        found.extend(overlapping(summaries, start, end))
        warnings.extend(str(w) for w in bad[:MAX_WARNINGS])
    return found, warnings[:MAX_WARNINGS]


def load_timeline(
    root: DataRoot,
    start: datetime,
    end: datetime,
    *,
    group_by_client: bool = True,
    cooldown_s: float | None = None,
) -> TimelineResult:
    """Read and derive ``[start, end)`` with the default policy (or the given cooldown)."""
    summaries, warnings = load_summaries(root, start, end)
    policy = TimelinePolicy(group_by_client=group_by_client)
    if cooldown_s is not None:
        policy = TimelinePolicy(group_by_client=group_by_client, cooldown_s=cooldown_s)
    timeline = derive_timeline(summaries, policy, window=(start, end))
    return TimelineResult(timeline=timeline, warnings=warnings, summaries=len(summaries))


__all__ = ["TimelineResult", "load_summaries", "load_timeline"]
