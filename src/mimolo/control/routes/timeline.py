"""The timeline view: a day or a week of derived work, per client or per instance, as SVG."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.app_lanes_view import load_app_lanes
from mimolo.control.context import control_state, render
from mimolo.control.evidence_source import parse_filters
from mimolo.control.routes.evidence import parse_day
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


async def timeline(request: Request) -> Response:
    """``GET /timeline?view=day|week&date=YYYY-MM-DD&group=client|instance[&apps=1]``."""
    query = request.query_params
    view = "week" if query.get("view") == "week" else "day"
    group: GroupBy = "instance" if query.get("group") == "instance" else "client"
    apps = query.get("apps") == "1"
    day = parse_day(query.get("date"), datetime.now(UTC).date())
    start, end = view_range(view, day)
    state = control_state(request)
    filters = parse_filters(query)
    result = await asyncio.to_thread(
        state.evidence.load_timeline, start, end, group_by_client=group == "client",
        filters=filters,
    )  # fmt: skip
    step = timedelta(days=7 if view == "week" else 1)
    lanes = build_lanes(result.timeline.segments, group)
    audits = [] if state.team else read_capture_audits(state.data_root, start, end)
    apps = apps and not state.team  # application lanes read this machine's ledger files
    pauses = paused_spans(audits, start, end, now=datetime.now(UTC))
    return render(
        request,
        "timeline.html",
        "timeline",
        view=view,
        group=group,
        day=day.isoformat(),
        start=start,
        end=end,
        last_day=(end - timedelta(days=1)).strftime("%A %d %B"),
        prev_day=(day - step).isoformat(),
        next_day=(day + step).isoformat(),
        svg=render_timeline_svg(result.timeline.segments, start, end, group=group),
        timeline=result.timeline,
        lanes=lanes,
        per_client=sorted(result.timeline.per_client.items()),
        total_s=result.timeline.total_s,
        warnings=result.warnings,
        apps=apps,
        pauses=pauses,
        paused_svg=render_paused_band(pauses, start, end),
        app_lanes=load_app_lanes(state.data_root, start, end) if apps else None,
        filters=filters,
        choices=await asyncio.to_thread(state.evidence.choices) if state.team else None,
    )


routes = [Route("/timeline", timeline)]

__all__ = ["routes", "view_range"]
