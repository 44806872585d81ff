"""Server-rendered SVG of derived segments: one lane per client (or instance), time across.

Pure: segments in, markup out. No inline ``style`` (the CSP forbids it): colours come from
CSS classes (``lane-c0`` … ``lane-c7``); geometry uses SVG presentation attributes. Every
piece of text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol
from xml.sax.saxutils import escape, quoteattr

import msgspec

GroupBy = Literal["client", "instance"]
PALETTE_SIZE = 8
UNASSIGNED = "unassigned"

LABEL_W = 160
LANE_H = 28
LANE_GAP = 8
AXIS_H = 24
BAR_H = 18


class SegmentLike(Protocol):
    """What the renderer needs of a derived segment."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def instances(self) -> list[str]: ...
    @property
    def client_ids(self) -> list[str]: ...


class Lane(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the chart and the segments drawn in it."""

    name: str
    colour: int
    spans: list[tuple[datetime, datetime, float]]

    @property
    def total_s(self) -> float:
        return sum(d for _, _, d in self.spans)


def lane_keys(segment: SegmentLike, group: GroupBy) -> list[str]:
    """The lanes a segment belongs to (a segment shared by two clients shows in both)."""
    keys = segment.client_ids if group == "client" else segment.instances
    return sorted(set(keys)) or [UNASSIGNED]


def build_lanes(segments: Sequence[SegmentLike], group: GroupBy) -> list[Lane]:
    """Group segments into lanes, ordered by name, each with a stable colour index."""
    spans: dict[str, list[tuple[datetime, datetime, float]]] = {}
    for segment in segments:
        for key in lane_keys(segment, group):
            spans.setdefault(key, []).append((segment.start, segment.end, segment.duration_s))
    return [
        Lane(name=name, colour=index % PALETTE_SIZE, spans=spans[name])
        for index, name in enumerate(sorted(spans))
    ]


def _ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    span = end - start
    if span <= timedelta(days=1, hours=1):
        step, fmt = timedelta(hours=3), "%H:%M"
    else:
        step, fmt = timedelta(days=1), "%a %d"
    out: list[tuple[datetime, str]] = []
    tick = start
    while tick < end:
        out.append((tick, tick.strftime(fmt)))
        tick += step
    return out


def _fmt_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def render_timeline_svg(
    segments: Sequence[SegmentLike],
    start: datetime,
    end: datetime,
    *,
    group: GroupBy = "client",
    width: int = 1000,
) -> str:
    """An accessible SVG chart of ``segments`` clipped to ``[start, end)``."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lanes = build_lanes(segments, group)
    plot_w = width - LABEL_W - 8
    total = max((end - start).total_seconds(), 1.0)
    height = AXIS_H + max(len(lanes), 1) * (LANE_H + LANE_GAP) + 4

    def x_of(moment: datetime) -> float:
        offset = (moment.astimezone(UTC) - start).total_seconds()
        return LABEL_W + max(0.0, min(1.0, offset / total)) * plot_w

    title = f"Work segments by {group}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    for moment, label in _ticks(start, end):
        x = x_of(moment)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="{AXIS_H - 4}" x2="{x:.1f}" y2="{height}"/>'
            f'<text class="tick-label" x="{x + 3:.1f}" y="{AXIS_H - 8}">{escape(label)}</text>'
        )
    if not lanes:
        parts.append(
            f'<text class="empty-label" x="{LABEL_W}" y="{AXIS_H + LANE_H - 8}">'
            "No work segments in this range.</text>"
        )
    for row, lane in enumerate(lanes):
        y = AXIS_H + row * (LANE_H + LANE_GAP)
        parts.append(
            f'<g class="lane lane-c{lane.colour}" data-lane={quoteattr(lane.name)}>'
            f'<rect class="lane-bg" x="{LABEL_W}" y="{y}" width="{plot_w}" height="{LANE_H}"/>'
            f'<text class="lane-label" x="4" y="{y + LANE_H / 2 + 4:.1f}">'
            f"{escape(lane.name[:22])}</text>"
        )
        for seg_start, seg_end, duration in lane.spans:
            if seg_end < start or seg_start >= end:
                continue
            x1, x2 = x_of(seg_start), x_of(seg_end)
            tip = (
                f"{lane.name}: {seg_start.astimezone(UTC):%Y-%m-%d %H:%M} to "
                f"{seg_end.astimezone(UTC):%H:%M} UTC ({_fmt_duration(duration)})"
            )
            parts.append(
                f'<rect class="seg" x="{x1:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" '
                f'width="{max(x2 - x1, 2.0):.1f}" height="{BAR_H}" rx="3">'
                f"<title>{escape(tip)}</title></rect>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


__all__ = [
    "UNASSIGNED",
    "GroupBy",
    "Lane",
    "SegmentLike",
    "build_lanes",
    "lane_keys",
    "render_timeline_svg",
]
