"""The state every Control route shares, and the page renderer that adds the common context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from mimolo import __version__
from mimolo.control.auth import Auth, Session
from mimolo.control.evidence_source import EvidenceSource, LocalSource
from mimolo.control.ops_link import OpsLink
from mimolo.control.report_jobs import ReportJobs
from mimolo.dataroot import DataRoot

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

DASH = "\u2013"

NAV = (
    ("dashboard", "/", "Dashboard"),
    ("logs", "/logs", "Operations log"),
    ("evidence", "/evidence", "Evidence"),
    ("timeline", "/timeline", "Timeline"),
    ("rules", "/rules", "Rules"),
    ("reports", "/reports", "Reports"),
    ("packages", "/packages", "Packages"),
    ("storage", "/storage", "Storage"),
)

TEAM_NAV = tuple(item for item in NAV if item[0] in ("evidence", "timeline", "reports"))
"""The team view's pages: the read-only ones (nothing there needs Operations)."""


def _duration(seconds: Any) -> str:
    """``3h 05m`` / ``42s`` for a number of seconds (a dash when unknown)."""
    if not isinstance(seconds, (int, float)):
        return DASH
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m {seconds % 60:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _number(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DASH
    return f"{value:.{digits}f}"


def _when(value: Any, zone: tzinfo | None = None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS UTC`` (or in ``zone``, named by its
    abbreviation, e.g. ``CET``); passes other text through."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        return DASH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if zone is not None:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def make_templates() -> Jinja2Templates:
    """Jinja2 with autoescaping on for every template."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = _duration
    env.filters["number"] = _number
    env.filters["when"] = _when
    return Jinja2Templates(env=env)


@dataclass
class ControlState:
    """Everything the routes need: data root, auth, the Operations link, report jobs, and
    the evidence source the Timeline, Evidence and Reports views read (local or team)."""

    data_root: DataRoot
    auth: Auth
    ops: OpsLink
    jobs: ReportJobs
    templates: Jinja2Templates = field(default_factory=make_templates)
    source: EvidenceSource | None = None

    def __post_init__(self) -> None:
        if self.source is None:
            self.source = LocalSource(self.data_root)

    @property
    def evidence(self) -> EvidenceSource:
        """The evidence source (this machine's ledger unless Control serves a team store)."""
        assert self.source is not None  # set in __post_init__
        return self.source

    @property
    def team(self) -> bool:
        return self.evidence.team


def control_state(request: Request) -> ControlState:
    state: ControlState = request.app.state.control
    return state


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


def render(
    request: Request, name: str, page: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page or fragment with the common context (CSRF token, Operations, nav)."""
    state = control_state(request)
    base = {
        "csrf_token": session_of(request).csrf_token,
        "ops": state.ops,
        "page": page,
        "nav": TEAM_NAV if state.team else NAV,
        "team": state.team,
        "version": __version__,
        "data_root": str(state.data_root.root),
        "store": state.evidence.label,
    }
    response: HTMLResponse = state.templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code
    )
    return response


__all__ = [
    "NAV",
    "STATIC_DIR",
    "TEAM_NAV",
    "TEMPLATES_DIR",
    "ControlState",
    "control_state",
    "make_templates",
    "render",
    "session_of",
]
