"""Review the day on the timeline page: the review panel and its actions (issue 18).

``GET /fragments/review?view=&date=&group=`` is the panel (chart, selection, idle gaps,
locked periods, segments, adjustments, totals), read from disk. The actions go to
Operations, which owns the journals and refuses what does not hold up (its codes reach
the form through ``errors_http``): ``POST /api/review/adjustments`` (assign / exclude /
manual entry of a selection), ``/api/review/idle`` (keep / discard / split a gap),
``/api/review/revoke`` and ``/api/review/void`` (an issued invoice, to unlock its period).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.app_lanes_view import load_app_lanes
from mimolo.control.context import ControlState, control_state, render
from mimolo.control.forms import read_form
from mimolo.control.responses import json_ok
from mimolo.control.review_data import ReviewConfig, View, load_review, review_config, view_window
from mimolo.control.review_forms import idle_request, range_request, reason_of, revoke_request
from mimolo.control.review_view import (
    KIND_LABELS,
    adjustment_rows,
    gap_rows,
    known_clients,
    known_projects,
    lock_rows,
    segment_rows,
)
from mimolo.control.routes.evidence import parse_day
from mimolo.control.svg_pauses import render_paused_band
from mimolo.control.svg_review import GroupBy, render_review_svg
from mimolo.errors import ConfigError
from mimolo.timeline.pauses import paused_spans, read_capture_audits
from mimolo.timeline.reviewed import LocalDayTotal
from mimolo.timeline.zones import resolve_zone

log = logging.getLogger(__name__)


class DayRow(msgspec.Struct, frozen=True, kw_only=True):
    """A local day's reviewed total and its length (23, 24 or 25 hours)."""

    day: date
    duration_s: float
    hours: int


def project_totals(per_project: dict[str, dict[str, float]]) -> list[tuple[str, float]]:
    """``client / project`` rows (time with no project is in the client's total only)."""
    return sorted(
        (f"{client} / {project}", secs)
        for client, projects in per_project.items()
        for project, secs in projects.items()
        if project
    )


def day_rows(per_day: Sequence[LocalDayTotal]) -> list[DayRow]:
    return [
        DayRow(day=d.day, duration_s=d.duration_s, hours=round(d.day_length_s / 3600))
        for d in per_day
    ]


async def review_panel(
    state: ControlState, config: ReviewConfig, view: View, day: date, group: GroupBy
) -> dict[str, Any]:
    """The ``review`` context of ``_review.html`` for the local ``day`` or its week."""
    start, end = view_window(view, day, config.zone)
    data = await asyncio.to_thread(load_review, state.data_root, start, end, config)
    tz, timeline = config.zone, data.timeline
    evidence_clients = {c for s in timeline.segments for c in s.client_ids}
    evidence_clients.update(s.client_id for s in timeline.segments if s.client_id)
    decisions = {a.id: a.kind for a in data.adjustments}
    return {
        "zone": str(tz),
        "start": start,
        "end": end,
        "svg": render_review_svg(
            timeline.segments, timeline.idle_gaps, timeline.locked, start, end, tz,
            group=group, decisions=decisions,
            excluded=[s for s in timeline.removed if s.removed == "excluded"],
        ),
        "segments": segment_rows(timeline.segments, data.adjustments, timeline.locked, tz),
        "adjustments": adjustment_rows(data.adjustments, start, end, timeline.locked, tz),
        "gaps": gap_rows(timeline.idle_gaps, data.adjustments, timeline.locked, tz),
        "locks": lock_rows(timeline.locked, tz),
        "clients": known_clients(config.settings, evidence_clients, config.instance_clients),
        "projects": known_projects(
            config.settings, (s.project for s in timeline.segments if s.project)
        ),
        "per_client": sorted(timeline.per_client.items()),
        "per_project": project_totals(timeline.per_project),
        "per_day": day_rows(timeline.per_day),
        "total_s": timeline.total_s,
        "warnings": config.warnings,
    }  # fmt: skip


def view_args(request: Request, config: ReviewConfig) -> tuple[View, date, GroupBy]:
    """``view``, ``date`` (today in the zone by default) and ``group`` of a query."""
    query = request.query_params
    view: View = "week" if query.get("view") == "week" else "day"
    group: GroupBy = "instance" if query.get("group") == "instance" else "client"
    return view, parse_day(query.get("date"), datetime.now(config.zone).date()), group


async def review_fragment(request: Request) -> Response:
    """``GET /fragments/review``: the panel alone (``review.js`` swaps it in after a change)."""
    state = control_state(request)
    group_by_client = request.query_params.get("group") != "instance"
    config = await asyncio.to_thread(
        review_config, state.data_root, group_by_client=group_by_client
    )
    view, day, group = view_args(request, config)
    review = await review_panel(state, config, view, day, group)
    start, end = review["start"], review["end"]
    apps = request.query_params.get("apps") == "1"
    audits = await asyncio.to_thread(read_capture_audits, state.data_root, start, end)
    pauses = paused_spans(audits, start, end, now=datetime.now(UTC))
    lanes = await asyncio.to_thread(load_app_lanes, state.data_root, start, end) if apps else None
    return render(
        request, "_review.html", "timeline", review=review, labels=KIND_LABELS,
        view=view, day=day.isoformat(), group=group, apps=apps, pauses=pauses,
        paused_svg=render_paused_band(pauses, start, end), app_lanes=lanes,
    )  # fmt: skip


def _zone_of(form: dict[str, str]) -> Any:
    """The zone the page showed (the form's ``zone``), so typed times mean what was seen."""
    try:
        return resolve_zone(form.get("zone", ""))
    except ConfigError as exc:
        raise ConfigError(exc.message, field="_form") from None


def _span(fields: dict[str, Any]) -> str:
    start = datetime.fromisoformat(fields["start"])
    end = datetime.fromisoformat(fields["end"])
    minutes = round((end - start) / timedelta(minutes=1))
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


async def _add(request: Request, fields: dict[str, Any]) -> Response:
    data = await control_state(request).ops.request("add_adjustment", **fields, via="control")
    label = KIND_LABELS.get(fields["kind"], fields["kind"])
    return json_ok(message=f"{label}: {_span(fields)} recorded.", data=data)


async def add_range(request: Request) -> Response:
    """``POST /api/review/adjustments``: assign, exclude or add a manual entry."""
    form = await read_form(request)
    return await _add(request, range_request(form, _zone_of(form)))


async def decide_idle(request: Request) -> Response:
    """``POST /api/review/idle``: keep, discard or split an idle gap."""
    form = await read_form(request)
    return await _add(request, idle_request(form, _zone_of(form)))


async def revoke(request: Request) -> Response:
    """``POST /api/review/revoke``: undo an adjustment (a later journal entry)."""
    fields = revoke_request(await read_form(request))
    data = await control_state(request).ops.request("revoke_adjustment", **fields, via="control")
    return json_ok(message="Adjustment revoked.", data=data)


async def void(request: Request) -> Response:
    """``POST /api/review/void``: void an issued invoice (its period unlocks)."""
    form = await read_form(request)
    invoice_id = form.get("id", "").strip()
    if not invoice_id.isalnum() or len(invoice_id) > 64:
        raise ConfigError("not an invoice id", field="_form")
    reason = reason_of(form)
    data = await control_state(request).ops.request(
        "void_invoice", id=invoice_id, reason=reason, via="control"
    )
    return json_ok(message="Invoice voided: its period is unlocked.", data=data)


routes = [
    Route("/fragments/review", review_fragment),
    Route("/api/review/adjustments", add_range, methods=["POST"]),
    Route("/api/review/idle", decide_idle, methods=["POST"]),
    Route("/api/review/revoke", revoke, methods=["POST"]),
    Route("/api/review/void", void, methods=["POST"]),
]

__all__ = ["DayRow", "review_fragment", "review_panel", "routes", "view_args"]
