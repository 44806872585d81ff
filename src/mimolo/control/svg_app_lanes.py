"""Server-rendered SVG of application lanes: one row per top application, then "other".

Pure: ``AppLanes`` in, markup out, in the geometry and CSS classes of the work-segment
chart (``svg_timeline``) so the two read as one page. Each bar is a run of adjacent
summary windows; its tooltip says how much of it the application actually had.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

import msgspec

from mimolo.control.svg_timeline import AXIS_H, BAR_H, LABEL_W, LANE_GAP, LANE_H, PALETTE_SIZE
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


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    step, fmt = (
        (timedelta(hours=3), "%H:%M")
        if end - start <= timedelta(days=1, hours=1)
        else (timedelta(days=1), "%a %d")
    )
    out: list[tuple[datetime, str]] = []
    tick = start
    while tick < end:
        out.append((tick, tick.strftime(fmt)))
        tick += step
    return out


def render_app_lanes_svg(
    lanes: AppLanes, start: datetime, end: datetime, *, width: int = 1000
) -> str:
    """An accessible SVG of the application lanes over ``[start, end)``."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    rows = app_rows(lanes)
    plot_w = width - LABEL_W - 8
    total = max((end - start).total_seconds(), 1.0)
    height = AXIS_H + max(len(rows), 1) * (LANE_H + LANE_GAP) + 4

    def x_of(moment: datetime) -> float:
        offset = (moment - start).total_seconds()
        return LABEL_W + max(0.0, min(1.0, offset / total)) * plot_w

    title = f"Time per application, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg app-lanes-svg" '
        f'role="img" viewBox="0 0 {width} {height}" width="100%" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    for moment, label in _ticks(start, end):
        x = x_of(moment)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="{AXIS_H - 4}" x2="{x:.1f}" y2="{height}"/>'
            f'<text class="tick-label" x="{x + 3:.1f}" y="{AXIS_H - 8}">{escape(label)}</text>'
        )
    if not rows:
        parts.append(
            f'<text class="empty-label" x="{LABEL_W}" y="{AXIS_H + LANE_H - 8}">'
            "No application time recorded in this range.</text>"
        )
    for index, row in enumerate(rows):
        y = AXIS_H + index * (LANE_H + LANE_GAP)
        name = row.label
        parts.append(
            f'<g class="lane app-lane {row.css}" data-app={quoteattr(name)}>'
            f'<rect class="lane-bg" x="{LABEL_W}" y="{y}" width="{plot_w}" height="{LANE_H}"/>'
            f'<text class="lane-label" x="4" y="{y + LANE_H / 2 + 4:.1f}">'
            f"{escape(name[:22])}</text>"
        )
        for span_start, span_end, seconds in row.lane.spans:
            x1, x2 = x_of(span_start), x_of(span_end)
            tip = (
                f"{name}: {_hm(seconds)} between {span_start:%Y-%m-%d %H:%M} "
                f"and {span_end:%H:%M} UTC"
            )
            parts.append(
                f'<rect class="seg" x="{x1:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" '
                f'width="{max(x2 - x1, 2.0):.1f}" height="{BAR_H}" rx="3">'
                f"<title>{escape(tip)}</title></rect>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["OTHER_LABEL", "AppRow", "app_rows", "render_app_lanes_svg"]
