"""Server-rendered SVG of derived segments: one lane per client (or instance), time across.

Pure: segments in, markup out, drawn with ``svg_chart``'s shared axis, lanes and bars;
colours come from CSS classes (``lane-c0`` … ``lane-c7``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from xml.sax.saxutils import quoteattr

import msgspec

from mimolo.control.svg_chart import (
    PALETTE_SIZE,
    UNASSIGNED,
    Axis,
    GroupBy,
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
    axis = Axis(start, end, width)
    height = chart_height(len(lanes))
    title = f"Work segments by {group}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    parts = svg_open("timeline-svg", width, height, title)
    parts += tick_marks(utc_ticks(start, end), axis, height)
    if not lanes:
        parts.append(empty_label("No work segments in this range."))
    for row, lane in enumerate(lanes):
        y = lane_y(row)
        parts.append(
            lane_open(
                f"lane-c{lane.colour}", f"data-lane={quoteattr(lane.name)}", lane.name, y, axis
            )
        )
        for seg_start, seg_end, duration in lane.spans:
            if seg_end < start or seg_start >= end:
                continue
            tip = (
                f"{lane.name}: {seg_start.astimezone(UTC):%Y-%m-%d %H:%M} to "
                f"{seg_end.astimezone(UTC):%H:%M} UTC ({hours_minutes(duration)})"
            )
            parts.append(bar("seg", axis.x(seg_start), axis.x(seg_end), y, tip))
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
