"""Work segments from summaries (DESIGN §6): a pure function, sorted single pass per group.

Rules: a summary marks activity when its ``activity_signal`` is active with
``keep_alive: true`` (or, with ``policy.active_instances`` set, when its instance is listed
and ``keep_alive`` is true). It covers ``[window.start, window.end]`` (or its timestamp).
Activity that starts within ``cooldown_s`` of the current segment's last activity joins it;
a segment ends at its last activity. Every other summary (passive agents, active ones
without keep-alive) never starts or extends a segment but is attached to the segments it
overlaps: counted in ``summary_count`` and its instance listed. Everything is clipped to
the query window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import attrgetter

from mimolo.timeline.models import (
    UNASSIGNED,
    Segment,
    Timeline,
    TimelinePolicy,
    TimelineSummary,
    from_epoch,
    to_epoch,
)
from mimolo.timeline.totals import per_client_totals, per_day_totals

_by_start = attrgetter("start")


class _Seg:
    """A segment under construction (mutable, internal)."""

    __slots__ = ("clients", "count", "end", "instances", "start")

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.instances: set[str] = set()
        self.clients: set[str] = set()
        self.count = 0


def _merge(
    items: list[TimelineSummary], cooldown_s: float, client_of: Mapping[str, str], track: bool
) -> list[_Seg]:
    """Sort activity by start and join what starts within the cooldown (one pass)."""
    items.sort(key=_by_start)
    out: list[_Seg] = []
    cur = _Seg(math.nan, math.nan)
    cur_end = -math.inf
    for s in items:
        if s.start - cur_end > cooldown_s:
            cur = _Seg(s.start, s.end)
            out.append(cur)
            cur_end = s.end
        elif s.end > cur_end:
            cur_end = cur.end = s.end
        cur.instances.add(s.instance_id)
        cur.count += 1
        if track:
            client = s.client_id or client_of.get(s.instance_id)
            if client is not None:
                cur.clients.add(client)
    return out


def _attach_all(
    others: list[TimelineSummary],
    segs: list[tuple[_Seg, str | None]],
    client_of: Mapping[str, str],
    grouped: bool,
    lo: float,
    hi: float,
) -> None:
    """Count non-activity summaries in the segments they overlap: one sweep by start.

    ``segs`` (every group's segments, sorted by start) enter the open list once a summary
    could reach them and leave it when no later summary can (their end is before its start).
    """
    others.sort(key=_by_start)
    open_: list[tuple[_Seg, str | None]] = []
    n = len(segs)
    j = 0
    for s in others:
        a = s.start if s.start > lo else lo
        b = s.end if s.end < hi else hi
        while j < n and segs[j][0].start <= b:
            open_.append(segs[j])
            j += 1
        if not open_:
            continue
        if open_[0][0].end < a or len(open_) > 1:
            open_ = [item for item in open_ if item[0].end >= a]
        client = s.client_id or client_of.get(s.instance_id)
        for seg, key in open_:
            if seg.start > b or (grouped and client is not None and key != client):
                continue
            seg.instances.add(s.instance_id)
            if client is not None and not grouped:
                seg.clients.add(client)
            seg.count += 1


def derive_timeline(
    summaries: Iterable[TimelineSummary],
    policy: TimelinePolicy | None = None,
    *,
    window: tuple[datetime, datetime] | None = None,
) -> Timeline:
    """Derive segments and totals; input order never matters, output is clipped to ``window``."""
    policy = policy or TimelinePolicy()
    lo, hi = (to_epoch(window[0]), to_epoch(window[1])) if window else (-math.inf, math.inf)
    active_set = policy.active_instances
    client_of = policy.client_of_instance
    grouped = policy.group_by_client
    activity: dict[str | None, list[TimelineSummary]] = {}
    others: list[TimelineSummary] = []
    for s in summaries:
        if s.end < lo or s.start > hi or s.end < s.start:
            continue
        if s.keep_alive is True and (
            s.mode == "active" if active_set is None else s.instance_id in active_set
        ):
            key = (s.client_id or client_of.get(s.instance_id)) if grouped else None
            bucket = activity.get(key)
            if bucket is None:
                bucket = activity[key] = []
            bucket.append(s)
        else:
            others.append(s)

    groups: dict[str | None, list[_Seg]] = {}
    for key, items in activity.items():
        segs = _merge(items, policy.cooldown_s, client_of, not grouped)
        for seg in segs:
            seg.start, seg.end = max(seg.start, lo), min(seg.end, hi)
        groups[key] = segs
    every = sorted(
        ((seg, key) for key, segs in groups.items() for seg in segs), key=lambda x: x[0].start
    )
    _attach_all(others, every, client_of, grouped, lo, hi)

    labelled: list[tuple[str, Segment]] = []
    for key, segs in groups.items():
        for seg in segs:
            client_ids = ([key] if key else []) if grouped else sorted(seg.clients)
            start, end = from_epoch(seg.start), from_epoch(seg.end)
            segment = Segment(
                start=start,
                end=end,
                duration_s=(end - start).total_seconds(),
                instances=sorted(seg.instances),
                client_ids=client_ids,
                summary_count=seg.count,
            )
            labelled.append(("+".join(client_ids) if client_ids else UNASSIGNED, segment))
    labelled.sort(key=lambda item: (item[1].start, item[1].end, item[0]))
    return Timeline(
        segments=[seg for _, seg in labelled],
        per_day=per_day_totals(labelled),
        per_client=per_client_totals(labelled),
    )


__all__ = ["derive_timeline"]
