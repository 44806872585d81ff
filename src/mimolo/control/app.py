"""The Control application factory: routes, middleware, and the Operations link's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from mimolo.control import widgets  # widget canvas API + /artifacts route (widgets issue)
from mimolo.control.auth import Auth, AuthMiddleware
from mimolo.control.context import STATIC_DIR, ControlState
from mimolo.control.errors_http import mimolo_error
from mimolo.control.evidence_source import EvidenceSource
from mimolo.control.headers import SecurityHeadersMiddleware
from mimolo.control.ops_link import OpsLink
from mimolo.control.report_jobs import ReportJobs
from mimolo.control.responses import refusal_response
from mimolo.control.routes import (
    capture,
    dashboard,
    evidence,
    instances,
    logs,
    packages,
    reports,
    review,
    rules,
    storage,
    team,
    timeline,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError

log = logging.getLogger(__name__)


async def _not_found(request: Request, exc: Exception) -> Response:
    return refusal_response(request.scope, 404, "Not found", "There is nothing at this address.")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("request failed: %s %s", request.method, request.url.path, exc_info=exc)
    return refusal_response(request.scope, 500, "Internal error", "Details are in Control's log.")


def create_app(
    data_root: DataRoot,
    *,
    auth: Auth | None = None,
    ops: OpsLink | None = None,
    source: EvidenceSource | None = None,
) -> Starlette:
    """A Control app for ``data_root``; ``auth.token`` is the launch token to print.

    With a team ``source`` it is the read-only team view: only the Timeline, Evidence and
    Reports pages exist and Operations is never contacted.
    """
    state = ControlState(
        data_root=data_root,
        auth=auth or Auth(),
        ops=ops or OpsLink(data_root.socket_path),
        jobs=ReportJobs(),
        source=source,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        monitor = None if state.team else asyncio.create_task(state.ops.run(), name="ops-link")
        try:
            yield
        finally:
            if monitor is not None:
                monitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await monitor
            await state.jobs.aclose()
            packages.discard_uploads(app)
            await asyncio.to_thread(state.evidence.close)

    pages = (
        team.routes(evidence.routes, timeline.routes, reports.routes)
        if state.team
        else [
            *dashboard.routes,
            *capture.routes,
            *instances.routes,
            *logs.routes,
            *evidence.routes,
            *timeline.routes,
            *review.routes,
            *rules.routes,
            *reports.routes,
            *packages.routes,
            *storage.routes,
            *widgets.routes,
        ]
    )
    app = Starlette(
        routes=[
            *pages,
            Mount("/static", StaticFiles(directory=Path(STATIC_DIR)), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(AuthMiddleware, auth=state.auth),
        ],
        exception_handlers={404: _not_found, 500: _server_error, MimoloError: mimolo_error},
        lifespan=lifespan,
    )
    app.state.control = state
    return app


__all__ = ["create_app"]
