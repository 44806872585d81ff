"""The Operations log view: diagnostics filtered by instance and level, live-updated."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.diagnostics_tail import (
    LEVELS,
    describe,
    filter_records,
    read_diagnostics_files,
    record_level,
    tail_records,
)
from mimolo.errors import IpcError
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)


async def _context(request: Request) -> dict[str, Any]:
    state = control_state(request)
    query = request.query_params
    instance_id = query.get("instance", "")
    level = query.get("level", "info")
    heartbeats = query.get("heartbeats") == "1"
    records: list[dict[str, Any]] | None = None
    source = "operations"
    if state.ops.available:
        try:
            records = tail_records(await state.ops.request("get_diagnostics_tail", limit=1000))
        except IpcError as exc:
            log.info("get_diagnostics_tail failed: %s", exc)
    if records is None:
        source = "files"
        records = read_diagnostics_files(state.data_root, datetime.now(UTC).date())
    instances = sorted({str(r["instance_id"]) for r in records if r.get("instance_id")})
    shown = filter_records(
        records,
        instance_id=instance_id if is_slug(instance_id) else None,
        min_level=level if level in LEVELS else "info",
        heartbeats=heartbeats,
    )
    rows = [
        {
            "ts": r.get("ts", ""),
            "kind": str(r.get("kind", "")),
            "instance_id": str(r.get("instance_id", "")),
            "level": record_level(r),
            "text": describe(r),
        }
        for r in shown
    ]
    return {
        "rows": rows,
        "source": source,
        "instances": instances,
        "levels": LEVELS,
        "selected_instance": instance_id,
        "selected_level": level,
        "heartbeats": heartbeats,
        "query": str(request.url.query),
    }


async def logs(request: Request) -> Response:
    """``GET /logs``: the page with its filter form."""
    return render(request, "logs.html", "logs", **await _context(request))


async def logs_fragment(request: Request) -> Response:
    """``GET /fragments/logs``: the table alone, polled by ``app.js``."""
    return render(request, "_logs_table.html", "logs", **await _context(request))


routes = [Route("/logs", logs), Route("/fragments/logs", logs_fragment)]

__all__ = ["routes"]
