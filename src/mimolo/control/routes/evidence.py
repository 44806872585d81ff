"""The evidence viewer: raw ledger lines for a window, with derived segments beside them."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.evidence_reader import DEFAULT_LIMIT, RawRecord
from mimolo.control.evidence_source import EvidenceSource, ViewFilters, parse_filters
from mimolo.control.review_data import review_config
from mimolo.dataroot import DataRoot
from mimolo.slugs import is_slug
from mimolo.timeline.derive import derive_timeline
from mimolo.timeline.models import Segment, TimelinePolicy, TimelineSummary, to_epoch

MAX_SKIP = 10_000_000


def parse_day(text: str | None, default: date) -> date:
    """``YYYY-MM-DD`` or ``default`` when absent or malformed."""
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def parse_clock(text: str | None, default: time) -> time:
    """``HH:MM`` or ``default``."""
    try:
        return time.fromisoformat(text) if text else default
    except ValueError:
        return default


def to_summaries(records: list[RawRecord]) -> list[TimelineSummary]:
    """The viewer's records as the timeline core's input (torn lines skipped)."""
    out: list[TimelineSummary] = []
    for r in records:
        if r.torn or r.window_start is None or r.window_end is None:
            continue
        out.append(
            TimelineSummary(
                instance_id=r.instance_id,
                plugin_id=r.plugin_id,
                start=to_epoch(r.window_start),
                end=to_epoch(r.window_end),
                mode=r.mode or "passive",
                keep_alive=r.keep_alive,
                client_id=r.client_id,
            )
        )
    return out


def derived_segments(
    records: list[RawRecord],
    start: datetime,
    end: datetime,
    policy: TimelinePolicy | None = None,
) -> list[Segment]:
    """Segments derived from exactly the records shown, each host's on its own (one
    machine's work never joins another's)."""
    hosts: dict[str, list[RawRecord]] = {}
    for r in records:
        hosts.setdefault(r.host, []).append(r)
    if len(hosts) <= 1:
        return derive_timeline(to_summaries(records), policy, window=(start, end)).segments
    segments = [
        seg
        for group in hosts.values()
        for seg in derive_timeline(to_summaries(group), policy, window=(start, end)).segments
    ]
    return sorted(segments, key=lambda s: (s.start, s.end, s.instances))


async def evidence(request: Request) -> Response:
    """``GET /evidence?date=&from=&to=&active=1&instance=&skip=``."""
    query = request.query_params
    state = control_state(request)
    source = state.evidence
    zone = await _zone(state.data_root) if not source.team else UTC
    day = parse_day(query.get("date"), datetime.now(zone).date())
    start_t = parse_clock(query.get("from"), time(0, 0))
    end_t = parse_clock(query.get("to"), time(23, 59))
    start, end = local_window(day, start_t, end_t, zone)
    instance = query.get("instance", "")
    active_only = query.get("active") == "1"
    filters = parse_filters(query)
    skip = parse_skip(query.get("skip"))
    page = await asyncio.to_thread(
        source.read_evidence, start, end, active_only=active_only,
        instance_id=instance if is_slug(instance) else None, filters=filters, offset=skip,
    )  # fmt: skip
    good = [r for r in page.records if not r.torn]
    policy, _ = source.load_policy()
    chains = [await asyncio.to_thread(source.day_chain, d) for d in ledger_days(start, end)]
    team = await asyncio.to_thread(_team_context, source, filters) if source.team else {}
    return render(
        request,
        "evidence.html",
        "evidence",
        day=day.isoformat(),
        start_clock=start_t.strftime("%H:%M"),
        end_clock=end_t.strftime("%H:%M"),
        active_only=active_only,
        instance=instance,
        records=page.records,
        warnings=page.warnings,
        files=page.files,
        truncated=page.truncated,
        segments=derived_segments(good, start, end, policy),
        chains=chains,
        zone=zone,
        zone_name=str(zone),
        cooldown_min=round(policy.cooldown_s / 60),
        instances=sorted({r.instance_id for r in good}),
        first_shown=skip + 1,
        later=_page_query(request, skip + len(page.records)) if page.truncated else None,
        earlier=_page_query(request, max(0, skip - DEFAULT_LIMIT)) if skip else None,
        prev_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
        filters=filters,
        **team,
    )


def parse_skip(text: str | None) -> int:
    """How many of the window's records a later page skips (``0`` when absent or bad)."""
    try:
        return max(0, min(int(text or 0), MAX_SKIP))
    except ValueError:
        return 0


def _page_query(request: Request, skip: int) -> str:
    """The same view's query, ``skip`` records in (segments are of the records shown)."""
    params = {k: v for k, v in request.query_params.items() if k != "skip"}
    if skip:
        params["skip"] = str(skip)
    return urlencode(params)


def local_window(day: date, start_t: time, end_t: time, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC bounds of ``day``'s ``start_t``..``end_t`` (inclusive minute) in ``zone``."""
    start = datetime.combine(day, start_t, zone).astimezone(UTC)
    end = datetime.combine(day, end_t, zone).astimezone(UTC) + timedelta(minutes=1)
    return start, max(end, start + timedelta(minutes=1))


def ledger_days(start: datetime, end: datetime) -> list[date]:
    """The UTC day files a window reads (a local day spans one or two of them)."""
    first, last = (
        start.astimezone(UTC).date(),
        (end - timedelta(microseconds=1)).astimezone(UTC).date(),
    )
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def _zone(root: DataRoot) -> tzinfo:
    """The configured ``timezone`` (the review views' reading of the config, cached)."""
    return (await asyncio.to_thread(review_config, root)).zone


def _team_context(source: EvidenceSource, filters: ViewFilters) -> dict[str, Any]:
    """The team view's filter choices and each host's chain as the collector flagged it."""
    return {"choices": source.choices(), "host_chains": source.host_chains(filters)}


routes = [Route("/evidence", evidence)]

__all__ = [
    "derived_segments",
    "ledger_days",
    "local_window",
    "parse_clock",
    "parse_day",
    "routes",
    "to_summaries",
]
