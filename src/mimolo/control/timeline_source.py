"""Where the timeline and reports views get their data: the ledger files, derived on request.

The policy comes from Operations' config (read-only: the cooldown and each instance's
client), and closed days come from the process-wide day cache shared with the CLI.
"""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.timeline import (
    Timeline,
    TimelinePolicy,
    cache_for,
    policy_from_config,
    timeline_for,
)

log = logging.getLogger(__name__)

MAX_WARNINGS = 50


class TimelineResult(msgspec.Struct, kw_only=True):
    """A derived timeline and the (bounded) list of lines that could not be read."""

    timeline: Timeline
    warnings: list[str]
    policy: TimelinePolicy


def load_policy(
    root: DataRoot, *, group_by_client: bool = True
) -> tuple[TimelinePolicy, list[str]]:
    """The configured policy (defaults when the config is missing or unreadable)."""
    return policy_from_config(root, group_by_client=group_by_client)


def load_timeline(
    root: DataRoot,
    start: datetime,
    end: datetime,
    *,
    group_by_client: bool = True,
    client_id: str | None = None,
) -> TimelineResult:
    """Read and derive ``[start, end)`` under the configured policy."""
    policy, warnings = load_policy(root, group_by_client=group_by_client)
    timeline, unread = timeline_for(
        root, start, end, policy, client_id=client_id, cache=cache_for(root)
    )
    warnings.extend(str(w) for w in unread[:MAX_WARNINGS])
    return TimelineResult(timeline=timeline, warnings=warnings[:MAX_WARNINGS], policy=policy)


__all__ = ["TimelineResult", "load_policy", "load_timeline"]
