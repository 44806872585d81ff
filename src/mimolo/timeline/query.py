"""Timeline queries at the edge: read the ledger days of a window, then derive (pure)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.timeline.cache import DEFAULT_MAX_DAYS, DayCache
from mimolo.timeline.derive import derive_timeline
from mimolo.timeline.disk_cache import DISK_CACHE_DIR, DiskCache
from mimolo.timeline.models import Timeline, TimelinePolicy, TimelineSummary, to_epoch
from mimolo.timeline.piece_store import PIECE_STORE_DIR, PieceStore
from mimolo.timeline.reader import ReadWarning, evidence_days, read_file
from mimolo.timeline.warm import ProcessWarmer

_start = attrgetter("start")
_end = attrgetter("end")

DEFAULT_CACHE = DayCache()
"""A process-wide in-memory cache (no disk copies)."""

_ROOT_CACHES: dict[Path, DayCache] = {}
_ROOT_LOCK = threading.Lock()


def disk_backed_cache(directory: Path, *, max_days: int = DEFAULT_MAX_DAYS) -> DayCache:
    """A day cache with on-disk copies under ``directory`` (``timeline/``: decoded days,
    ``review/``: the review's kept pieces) and, with more than one core, a first review
    of many days shared among worker processes (one per core)."""
    workers = os.cpu_count() or 1
    return DayCache(
        max_days=max_days,
        disk=DiskCache(directory / DISK_CACHE_DIR),
        pieces=PieceStore(directory / PIECE_STORE_DIR),
        warmer=ProcessWarmer(workers) if workers > 1 else None,
    )


def cache_for(data_root: DataRoot) -> DayCache:
    """The process-wide cache of one data root, its copies under control/cache/."""
    with _ROOT_LOCK:
        cache = _ROOT_CACHES.get(data_root.root)
        if cache is None:
            cache = disk_backed_cache(data_root.cache_dir)
            _ROOT_CACHES[data_root.root] = cache
        return cache


def check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError("must be timezone-aware (UTC)", field="window")
    if end <= start:
        raise ConfigError(
            f"end {end.isoformat()} is not after start {start.isoformat()}", field="window"
        )


def read_evidence(
    data_root: DataRoot,
    start: datetime,
    end: datetime,
    *,
    cache: DayCache | None = DEFAULT_CACHE,
    now: datetime | None = None,
) -> tuple[list[TimelineSummary], list[ReadWarning]]:
    """Summaries overlapping ``[start, end]`` and warnings for lines that could not be used."""
    check_window(start, end)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    lo, hi = to_epoch(start), to_epoch(end)
    out: list[TimelineSummary] = []
    warnings: list[ReadWarning] = []
    for day in evidence_days(start.astimezone(UTC), end.astimezone(UTC)):
        path = data_root.evidence_file(day)
        got, warn = cache.read(path, day, today) if cache is not None else read_file(path)
        if got and lo <= min(map(_start, got)) and max(map(_end, got)) <= hi:
            out.extend(got)  # the whole file lies inside the window (the common case)
        else:
            out.extend([s for s in got if s.end >= lo and s.start <= hi])
        warnings.extend(warn)
    return out, warnings


def only_client(
    summaries: Iterable[TimelineSummary], client_id: str, policy: TimelinePolicy
) -> Iterator[TimelineSummary]:
    """The summaries of one client, plus those that belong to no client (e.g. the screen)."""
    client_of = policy.client_of_instance
    for s in summaries:
        client = s.client_id or client_of.get(s.instance_id)
        if client is None or client == client_id:
            yield s


def timeline_for(
    data_root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None = None,
    *,
    client_id: str | None = None,
    cache: DayCache | None = DEFAULT_CACHE,
    now: datetime | None = None,
) -> tuple[Timeline, list[ReadWarning]]:
    """Read and derive in one call (the CLI, reports and Control use this)."""
    policy = policy or TimelinePolicy()
    summaries, warnings = read_evidence(data_root, start, end, cache=cache, now=now)
    selected: Iterable[TimelineSummary] = summaries
    if client_id is not None:
        selected = only_client(summaries, client_id, policy)
    timeline = derive_timeline(selected, policy, window=(start, end))
    if client_id is not None:
        timeline = _keep_client(timeline, client_id)
    return timeline, warnings


def _keep_client(timeline: Timeline, client_id: str) -> Timeline:
    """Drop segments of unassigned activity when one client was asked for."""
    from mimolo.timeline.totals import per_client_totals, per_day_totals

    kept = [("+".join(s.client_ids), s) for s in timeline.segments if client_id in s.client_ids]
    return Timeline(
        segments=[s for _, s in kept],
        per_day=per_day_totals(kept),
        per_client=per_client_totals(kept),
    )


__all__ = [
    "DEFAULT_CACHE",
    "cache_for",
    "check_window",
    "only_client",
    "read_evidence",
    "timeline_for",
]
