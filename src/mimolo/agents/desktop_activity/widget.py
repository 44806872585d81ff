"""The desktop agent's widget: what has focus now, today's top applications, idle state.

Only the allowed tags and widget classes (docs/widgets.md); every value escaped. Titles
appear only when the agent records them, and never for excluded time.
"""

from __future__ import annotations

from dataclasses import dataclass

from mimolo.agents.desktop_activity.aggregate import AppTotals, Observation
from mimolo.sdk.widgets import escape, html_table

WIDGET_APPS = 8


@dataclass(frozen=True, slots=True)
class WidgetView:
    """What the widget shows, taken from the agent in one piece."""

    label: str
    current: Observation
    backend: str
    reason: str
    today: AppTotals
    today_active_s: float
    today_idle_s: float
    idle_threshold_s: float


def duration(seconds: float) -> str:
    """``1 h 05 min`` / ``12 min`` / ``40 s``."""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    if whole >= 60:
        return f"{whole // 60} min"
    return f"{whole} s"


def _now_line(view: WidgetView) -> str:
    obs = view.current
    if obs.state == "paused":
        return '<p class="w-warn w-strong">Recording paused</p>'
    if obs.state == "no_display":
        return (
            '<p class="w-warn w-strong">Not recording</p>'
            f'<p class="w-muted w-small">{escape(view.reason or "no display")}</p>'
        )
    if obs.state == "idle":
        threshold = escape(duration(view.idle_threshold_s))
        return (
            '<p class="w-muted w-strong">Idle</p>'
            f'<p class="w-muted w-small">no input for {threshold} or more</p>'
        )
    if obs.excluded:
        return '<p class="w-ok w-strong">Active</p><p class="w-muted w-small">(excluded)</p>'
    if obs.application is None:
        return '<p class="w-ok w-strong">Active</p>'
    title = f'<p class="w-muted w-small">{escape(obs.title)}</p>' if obs.title else ""
    return f'<p class="w-ok w-strong">Active: {escape(obs.application)}</p>{title}'


def render_widget(view: WidgetView, *, limit: int = WIDGET_APPS) -> str:
    """An HTML fragment: now, today's totals and top applications."""
    head = f"<header><h3>{escape(view.label)}</h3></header>"
    totals = (
        f'<p class="w-small">Today: active {escape(duration(view.today_active_s))}, '
        f"idle {escape(duration(view.today_idle_s))} "
        f'<span class="w-muted">({escape(view.backend)})</span></p>'
    )
    listed, other = view.today.top(limit, with_titles=False)
    if not listed:
        apps = '<p class="w-muted">No application time today yet.</p>'
    else:
        rows: list[tuple[object, ...]] = [
            (row["application"], duration(float(row["seconds"]))) for row in listed
        ]
        if other >= 1:
            rows.append(("other", duration(other)))
        apps = html_table(("application", "today"), rows)
    return f"<section>{head}{_now_line(view)}{totals}{apps}</section>"


__all__ = ["WIDGET_APPS", "WidgetView", "duration", "render_widget"]
