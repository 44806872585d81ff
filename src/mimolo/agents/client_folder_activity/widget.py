"""The folder agent's widget: recent changes, newest first, relative paths only, escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from mimolo.agents.client_folder_activity.coalesce import Change
from mimolo.sdk.widgets import escape, html_table

WIDGET_ROWS = 50


def render_recent(title: str, recent: Sequence[Change], *, limit: int = WIDGET_ROWS) -> str:
    """An HTML fragment listing the latest settled changes (newest first, bounded)."""
    newest = sorted(recent, key=lambda c: c.at, reverse=True)[:limit]
    head = f"<header><h3>{escape(title)}</h3></header>"
    if not newest:
        return f'<section>{head}<p class="w-muted">No file changes yet.</p></section>'
    rows = [
        (
            datetime.fromtimestamp(c.at, UTC).strftime("%H:%M:%S"),
            c.kind,
            c.path if c.from_path is None else f"{c.from_path} → {c.path}",
        )
        for c in newest
    ]
    table = html_table(("time (UTC)", "change", "path"), rows)
    return f"<section>{head}{table}</section>"


__all__ = ["WIDGET_ROWS", "render_recent"]
