"""Server-rendered SVG of application lanes: one row per top application, then "other".

Pure: ``AppLanes`` in, markup out, in the geometry and CSS classes of the work-segment
chart (``svg_chart``'s shared axis, lanes and bars) so the two read as one page. Each
bar is a run of adjacent summary windows; its tooltip says how much of it the
application actually had.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

import msgspec

from mimolo.control.svg_chart import (
    PALETTE_SIZE,
    Axis,
    bar,
    chart_height,
    empty_label,
    hours_minutes,
    lane_open,
    lane_y,
    svg_open,
    tick_marks,
    utc_ticks,
)
from mimolo.timeline.app_lanes import AppLane, AppLanes

OTHER_LABEL = "Other applications"


class AppRow(msgspec.Struct, frozen=True, kw_only=True):
    """A lane as the page draws it: its label, CSS class and share of the range's total."""

    label: str
    css: str
    lane: AppLane
    share: float


def app_rows(lanes: AppLanes) -> list[AppRow]:
    """Top applications (``lane-c<N>``), then the remainder (``lane-other``)."""
    total = lanes.total_s or 1.0
    rows = [
        AppRow(
            label=lane.application,
            css=f"lane-c{i % PALETTE_SIZE}",
            lane=lane,
            share=lane.seconds / total,
        )
        for i, lane in enumerate(lanes.lanes)
    ]
    if lanes.other is not None:
        rows.append(
            AppRow(
                label=OTHER_LABEL,
                css="lane-other",
                lane=lanes.other,
                share=lanes.other.seconds / total,
            )
        )
    return rows


def render_app_lanes_svg(
    lanes: AppLanes, start: datetime, end: datetime, *, width: int = 1000
) -> str:
    """An accessible SVG of the application lanes over ``[start, end)``."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    rows = app_rows(lanes)
    axis = Axis(start, end, width)
    height = chart_height(len(rows))
    title = f"Time per application, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    parts = svg_open("timeline-svg app-lanes-svg", width, height, title)
    parts += tick_marks(utc_ticks(start, end), axis, height)
    if not rows:
        parts.append(empty_label("No application time recorded in this range."))
    for index, row in enumerate(rows):
        y = lane_y(index)
        name = row.label
        parts.append(lane_open(f"app-lane {row.css}", f"data-app={quoteattr(name)}", name, y, axis))
        for span_start, span_end, seconds in row.lane.spans:
            tip = (
                f"{name}: {hours_minutes(seconds)} between {span_start:%Y-%m-%d %H:%M} "
                f"and {span_end:%H:%M} UTC"
            )
            parts.append(bar("seg", axis.x(span_start), axis.x(span_end), y, tip))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["OTHER_LABEL", "AppRow", "app_rows", "render_app_lanes_svg"]
