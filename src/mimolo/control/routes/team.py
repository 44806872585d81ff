"""The team view's route table: the read-only pages, and nothing that needs Operations.

``mimolo control --team`` serves Timeline, Evidence and Reports over the team store. The
dashboard, agents, logs, packages, storage, widgets and evidence packs (which read this
machine's ledger) are not mounted at all, so no action that changes anything exists.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

LOCAL_ONLY = frozenset({"/api/reports/pack"})
"""Paths of the shared views that need this machine's files (not offered in team mode)."""


async def home(request: Request) -> Response:
    """``GET /``: the team view opens on the timeline."""
    return RedirectResponse("/timeline", status_code=303)


async def status(request: Request) -> Response:
    """``GET /api/status``: the page's poll; the team view never talks to Operations."""
    return JSONResponse(
        {"ok": True, "ops_available": False, "team": True, "message": "team view, read-only"}
    )


def routes(*tables: Sequence[BaseRoute]) -> list[BaseRoute]:
    """``/``, the status poll, and the given views' routes less the local-only ones."""
    kept: list[BaseRoute] = [Route("/", home), Route("/api/status", status)]
    for table in tables:
        kept.extend(r for r in table if getattr(r, "path", None) not in LOCAL_ONLY)
    return kept


__all__ = ["LOCAL_ONLY", "routes"]
