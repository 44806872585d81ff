"""Evidence reading and derived timelines (pure core, I/O at the edges).

``read_evidence`` streams the ledger days of a window, ``derive_timeline`` turns summaries
into segments under a ``TimelinePolicy``, ``timeline_for`` does both with the closed-day
``DayCache``.
"""

from mimolo.timeline.cache import DayCache
from mimolo.timeline.derive import derive_timeline
from mimolo.timeline.disk_cache import DiskCache
from mimolo.timeline.identity import FileIdentity, file_identity
from mimolo.timeline.models import (
    DEFAULT_COOLDOWN_S,
    UNASSIGNED,
    DayTotal,
    Segment,
    Timeline,
    TimelinePolicy,
    TimelineSummary,
)
from mimolo.timeline.policy import policy_from_config
from mimolo.timeline.query import (
    DEFAULT_CACHE,
    cache_for,
    only_client,
    read_evidence,
    timeline_for,
)
from mimolo.timeline.reader import ReadWarning, read_file
from mimolo.timeline.totals import split_by_day

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_COOLDOWN_S",
    "UNASSIGNED",
    "DayCache",
    "DayTotal",
    "DiskCache",
    "FileIdentity",
    "ReadWarning",
    "Segment",
    "Timeline",
    "TimelinePolicy",
    "TimelineSummary",
    "cache_for",
    "derive_timeline",
    "file_identity",
    "only_client",
    "policy_from_config",
    "read_evidence",
    "read_file",
    "split_by_day",
    "timeline_for",
]
