"""The team timeline: each host's summaries derived on their own, then united (pure).

One machine's activity never joins another's segment: two people working at once are two
segments, as their own Controls would show them. Segments name their instances
``instance@host`` so lanes and reports tell the machines apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from mimolo.team.reader import HostSummaries
from mimolo.timeline.derive import derive_timeline
from mimolo.timeline.models import Segment, Timeline, TimelinePolicy, TimelineSummary
from mimolo.timeline.query import only_client
from mimolo.timeline.totals import per_client_totals, per_day_totals, segment_client


def host_timeline(
    summaries: Iterable[TimelineSummary],
    start: datetime,
    end: datetime,
    policy: TimelinePolicy,
    client_id: str | None = None,
) -> list[Segment]:
    """One host's segments, exactly as ``timeline_for`` derives a local ledger's."""
    selected = only_client(summaries, client_id, policy) if client_id else summaries
    segments = derive_timeline(selected, policy, window=(start, end)).segments
    if client_id is not None:
        segments = [s for s in segments if client_id in s.client_ids]
    return segments


def qualify(segment: Segment, host_label: str) -> Segment:
    """The segment with its instances named ``instance@host``."""
    return msgspec.structs.replace(
        segment, instances=[f"{i}@{host_label}" for i in segment.instances]
    )


def unite(segments: Iterable[Segment]) -> Timeline:
    """One timeline of several hosts' segments: sorted, with totals over all of them."""
    labelled = sorted(
        ((segment_client(s), s) for s in segments),
        key=lambda item: (item[1].start, item[1].end, item[0], item[1].instances),
    )
    return Timeline(
        segments=[s for _, s in labelled],
        per_day=per_day_totals(labelled),
        per_client=per_client_totals(labelled),
    )


def team_timeline(
    hosts: Iterable[HostSummaries],
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None = None,
    *,
    client_id: str | None = None,
) -> Timeline:
    """The union of every host's own timeline of ``[start, end)``."""
    policy = policy or TimelinePolicy()
    return unite(
        qualify(seg, h.host.label)
        for h in hosts
        for seg in host_timeline(h.summaries, start, end, policy, client_id)
    )


__all__ = ["host_timeline", "qualify", "team_timeline", "unite"]
