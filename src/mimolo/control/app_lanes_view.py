"""The timeline page's application lanes: read the range's desktop summaries, draw them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from mimolo.control.svg_app_lanes import AppRow, app_rows, render_app_lanes_svg
from mimolo.control.timeline_source import MAX_WARNINGS
from mimolo.dataroot import DataRoot
from mimolo.timeline.app_lanes import build_app_lanes, read_app_usage


class AppLanesView(msgspec.Struct, frozen=True, kw_only=True):
    """What the template shows: the chart, one table row per lane, the totals."""

    svg: str
    rows: list[AppRow]
    total_s: float
    top: int
    applications: int
    warnings: list[str]


def load_app_lanes(root: DataRoot, start: datetime, end: datetime) -> AppLanesView:
    """Application lanes of ``[start, end)`` from the ledger files (Operations not needed)."""
    uses, unread = read_app_usage(root, start, end)
    lanes = build_app_lanes(uses, start, end)
    return AppLanesView(
        svg=render_app_lanes_svg(lanes, start, end),
        rows=app_rows(lanes),
        total_s=lanes.total_s,
        top=len(lanes.lanes),
        applications=lanes.applications,
        warnings=[str(w) for w in unread[:MAX_WARNINGS]],
    )


__all__ = ["AppLanesView", "load_app_lanes"]
