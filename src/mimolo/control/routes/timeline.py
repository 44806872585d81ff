"""The timeline view: a local day or week of reviewed work, per client or per instance, as
SVG, with the review panel (drag to select, assign, exclude, idle gaps, locks)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.app_lanes_view import load_app_lanes
from mimolo.control.context import control_state, render
from mimolo.control.evidence_source import ViewFilters, parse_filters
from mimolo.control.review_data import View, review_config, view_window
from mimolo.control.review_view import KIND_LABELS
from mimolo.control.routes.evidence import parse_day
from mimolo.control.routes.review import review_panel
from mimolo.control.svg_pauses import render_paused_band
from mimolo.control.svg_timeline import GroupBy, build_lanes, render_timeline_svg
from mimolo.timeline.pauses import paused_spans, read_capture_audits

log = logging.getLogger(__name__)


def view_range(view: str, day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the day, or of the Monday-to-Sunday week containing it."""
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        start = datetime.combine(monday, datetime.min.time(), UTC)
        return start, start + timedelta(days=7)
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start, start + timedelta(days=1)


async def _local(
    request: Request, view: View, group: GroupBy
) -> tuple[ZoneInfo, date, datetime, datetime, dict[str, Any]]:
    """This machine's view: local days in the configured zone and the review panel."""
    state = control_state(request)
    config = await asyncio.to_thread(
        review_config, state.data_root, group_by_client=group == "client"
    )
    day = parse_day(request.query_params.get("date"), datetime.now(config.zone).date())
    start, end = view_window(view, day, config.zone)
    review = await review_panel(state, config, view, day, group)
    return config.zone, day, start, end, {"review": review, "labels": KIND_LABELS}


async def _team(
    request: Request, view: View, group: GroupBy, filters: ViewFilters
) -> tuple[ZoneInfo, date, datetime, datetime, dict[str, Any]]:
    """The team view: UTC days across hosts, the derived timeline without review."""
    state = control_state(request)
    day = parse_day(request.query_params.get("date"), datetime.now(UTC).date())
    start, end = view_range(view, day)
    result = await asyncio.to_thread(
        state.evidence.load_timeline, start, end, group_by_client=group == "client",
        filters=filters,
    )  # fmt: skip
    return ZoneInfo("UTC"), day, start, end, {
        "review": None,
        "svg": render_timeline_svg(result.timeline.segments, start, end, group=group),
        "timeline": result.timeline,
        "lanes": build_lanes(result.timeline.segments, group),
        "per_client": sorted(result.timeline.per_client.items()),
        "total_s": result.timeline.total_s,
        "warnings": result.warnings,
        "choices": await asyncio.to_thread(state.evidence.choices),
    }  # fmt: skip


async def timeline(request: Request) -> Response:
    """``GET /timeline?view=day|week&date=YYYY-MM-DD&group=client|instance[&apps=1]``:
    local days in the configured zone, with the review panel (the team view: UTC)."""
    query = request.query_params
    view: View = "week" if query.get("view") == "week" else "day"
    group: GroupBy = "instance" if query.get("group") == "instance" else "client"
    state = control_state(request)
    filters = parse_filters(query)
    if state.team:
        zone, day, start, end, parts = await _team(request, view, group, filters)
    else:
        zone, day, start, end, parts = await _local(request, view, group)
    apps = query.get("apps") == "1" and not state.team  # app lanes read this machine's files
    audits = [] if state.team else read_capture_audits(state.data_root, start, end)
    pauses = paused_spans(audits, start, end, now=datetime.now(UTC))
    step = timedelta(days=7 if view == "week" else 1)
    local_start, local_last = start.astimezone(zone), (end - timedelta(seconds=1)).astimezone(zone)
    return render(
        request,
        "timeline.html",
        "timeline",
        view=view,
        group=group,
        day=day.isoformat(),
        zone=str(zone),
        start=local_start,
        end=end,
        last_day=local_last.strftime("%A %d %B"),
        prev_day=(day - step).isoformat(),
        next_day=(day + step).isoformat(),
        apps=apps,
        pauses=pauses,
        paused_svg=render_paused_band(pauses, start, end),
        app_lanes=load_app_lanes(state.data_root, start, end) if apps else None,
        filters=filters,
        **parts,
    )


routes = [Route("/timeline", timeline)]

__all__ = ["routes", "view_range"]
