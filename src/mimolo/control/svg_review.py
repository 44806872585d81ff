"""The review chart: reviewed segments in lanes, idle gaps, locked periods, local time.

Pure: the reviewed timeline's pieces in, SVG out, on the same x axis as the other charts
(``svg_chart``: same label column and width) so the paused band and application lanes
line up under it.
The root carries the range and the plot geometry (``data-*``) so ``review.js`` can turn a
drag into times; ticks are local wall-clock times in the page's zone. Colours come from
CSS classes (the CSP forbids inline style); every piece of text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

from mimolo.control.svg_chart import (
    AXIS_H,
    LABEL_W,
    PALETTE_SIZE,
    UNASSIGNED,
    Axis,
    GroupBy,
    bar,
    chart_height,
    empty_label,
    hours_minutes,
    lane_label,
    lane_open,
    lane_y,
    svg_open,
    tick_marks,
)

IDLE_LANE = "Idle"
LOCK_LABEL_H = 14


class ReviewedSegmentLike(Protocol):
    """What the chart needs of a reviewed segment."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def instances(self) -> list[str]: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def project(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def adjustment_ids(self) -> list[str]: ...
    @property
    def rule_ids(self) -> list[str]: ...
    @property
    def locked_by(self) -> str | None: ...


class IdleGapLike(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def decided_by(self) -> str | None: ...


class LockedPeriodLike(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def project(self) -> str | None: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


def segment_lanes(segment: ReviewedSegmentLike, group: GroupBy) -> list[str]:
    """The lanes a reviewed segment is drawn in: its client (after review), or its instances."""
    if group == "client":
        return [segment.client_id or UNASSIGNED]
    return sorted(set(segment.instances)) or [segment.source]


def lane_names(segments: Sequence[ReviewedSegmentLike], group: GroupBy) -> list[str]:
    """Lane names in order (``unassigned`` last), one per client or instance."""
    names = {name for segment in segments for name in segment_lanes(segment, group)}
    return sorted(names, key=lambda name: (name == UNASSIGNED, name))


def local_ticks(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, str]]:
    """Axis ticks at local wall-clock times: every 3 hours of a day, each local midnight of
    a longer range (a 23- or 25-hour day keeps its real length)."""
    first: date = start.astimezone(tz).date()
    last: date = (end - timedelta(microseconds=1)).astimezone(tz).date()
    days = (last - first).days + 1
    ticks: list[tuple[datetime, str]] = []
    hours = range(0, 24, 3) if days <= 1 else range(0, 1)
    for offset in range(days):
        day = first + timedelta(days=offset)
        for hour in hours:
            moment = datetime.combine(day, time(hour), tz).astimezone(UTC)
            if start <= moment < end:
                local = moment.astimezone(tz)
                ticks.append((moment, f"{local:%H:%M}" if days <= 1 else f"{local:%a %d}"))
    return ticks


def _clock(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}"


def _segment_tip(segment: ReviewedSegmentLike, lane: str, tz: tzinfo) -> str:
    tip = f"{lane}: {_clock(segment.start, tz)} to {segment.end.astimezone(tz):%H:%M}"
    tip += f" ({hours_minutes(segment.duration_s)}, {segment.source})"
    if segment.project:
        tip += f", project {segment.project}"
    if segment.rule_ids:
        tip += f"; rules {', '.join(segment.rule_ids)}"
    if segment.adjustment_ids:
        tip += f"; adjusted by {len(segment.adjustment_ids)} adjustment(s)"
    if segment.locked_by:
        tip += "; locked by an issued invoice"
    return tip


def _segment_rect(
    index: int, segment: ReviewedSegmentLike, lane: str, y: float, axis: Axis, tz: tzinfo
) -> str:
    classes = ["seg", f"src-{segment.source}"]
    if segment.adjustment_ids:
        classes.append("seg-adjusted")
    if segment.locked_by:
        classes.append("seg-locked")
    attrs = f' data-segment="{index}" data-adjustments={_adjustments(segment)}'
    tip = _segment_tip(segment, lane, tz)
    return bar(" ".join(classes), axis.x(segment.start), axis.x(segment.end), y, tip, attrs)


def _adjustments(segment: ReviewedSegmentLike) -> str:
    return quoteattr(" ".join(segment.adjustment_ids))


def _excluded_rect(
    segment: ReviewedSegmentLike, lane: str, y: float, axis: Axis, tz: tzinfo
) -> str:
    tip = (
        f"{lane}: {_clock(segment.start, tz)} to {segment.end.astimezone(tz):%H:%M} excluded "
        f"({hours_minutes(segment.duration_s)}, not counted)"
    )
    attrs = f" data-adjustments={_adjustments(segment)}"
    return bar("seg-excluded", axis.x(segment.start), axis.x(segment.end), y, tip, attrs)


def _idle_rect(gap: IdleGapLike, y: float, axis: Axis, decisions: Mapping[str, str]) -> str:
    decision = decisions.get(gap.decided_by or "", "undecided")
    tip = (
        f"Idle {hours_minutes((gap.end - gap.start).total_seconds())}: {decision.replace('_', ' ')}"
    )
    attrs = f" data-gap-start={quoteattr(gap.start.isoformat())}"
    return bar(
        f"idle-gap idle-{escape(decision)}", axis.x(gap.start), axis.x(gap.end), y, tip, attrs
    )


def _lock_rect(lock: LockedPeriodLike, height: float, axis: Axis, tz: tzinfo) -> str:
    x1, x2 = axis.x(lock.start), axis.x(lock.end)
    scope = lock.client_id + (f" / {lock.project}" if lock.project else "")
    tip = (
        f"Locked by invoice {lock.number} ({scope}), {_clock(lock.start, tz)} to "
        f"{_clock(lock.end, tz)}: void it to change this period"
    )
    return (
        f'<g class="locked-period" data-invoice={quoteattr(lock.number)}>'
        f'<rect x="{x1:.1f}" y="{AXIS_H - 2}" width="{max(x2 - x1, 2.0):.1f}" '
        f'height="{height - AXIS_H + 2:.1f}"><title>{escape(tip)}</title></rect>'
        f'<text class="lock-label" x="{x1 + 3:.1f}" y="{height - 3:.1f}">'
        f"Locked · {escape(lock.number)}</text></g>"
    )


def render_review_svg(
    segments: Sequence[ReviewedSegmentLike],
    idle_gaps: Sequence[IdleGapLike],
    locked: Sequence[LockedPeriodLike],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    group: GroupBy = "client",
    decisions: Mapping[str, str] | None = None,
    excluded: Sequence[ReviewedSegmentLike] = (),
    width: int = 1000,
) -> str:
    """The chart of ``[start, end)``: a lane per client (or instance), then the idle gaps;
    excluded time drawn hollow in its lane; locked periods shaded over every lane; a
    hidden selection ``review.js`` draws into."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    axis = Axis(start, end, width)
    names = lane_names([*segments, *excluded], group)
    rows = len(names) + (1 if idle_gaps else 0)
    height = chart_height(rows, LOCK_LABEL_H)
    title = f"Reviewed work by {group}, {_clock(start, tz)} to {_clock(end, tz)} ({tz})"
    tail = (
        f" data-start={quoteattr(start.isoformat())} data-end={quoteattr(end.isoformat())}"
        f' data-plot-x="{LABEL_W}" data-plot-w="{axis.plot_w}" data-width="{width}"'
        f" data-zone={quoteattr(str(tz))}"
    )
    parts = svg_open(
        "timeline-svg review-svg", width, height, title, lead='id="review-chart" ', tail=tail
    )
    parts += tick_marks(local_ticks(start, end, tz), axis, height)
    if not rows:
        parts.append(
            empty_label("No work segments in this range. Drag here to add a manual entry.")
        )
    for row, name in enumerate(names):
        y = lane_y(row)
        parts.append(
            lane_open(f"lane-c{row % PALETTE_SIZE}", f"data-lane={quoteattr(name)}", name, y, axis)
        )
        for segment in excluded:
            if name in segment_lanes(segment, group) and axis.visible(segment.start, segment.end):
                parts.append(_excluded_rect(segment, name, y, axis, tz))
        for index, segment in enumerate(segments):
            if name in segment_lanes(segment, group) and axis.visible(segment.start, segment.end):
                parts.append(_segment_rect(index, segment, name, y, axis, tz))
        parts.append("</g>")
    if idle_gaps:
        y = lane_y(len(names))
        parts.append(
            f'<g class="lane idle-lane" data-lane="{IDLE_LANE}">' + lane_label(IDLE_LANE, y)
        )
        parts.extend(
            _idle_rect(gap, y, axis, decisions or {})
            for gap in idle_gaps
            if axis.visible(gap.start, gap.end)
        )
        parts.append("</g>")
    parts.extend(
        _lock_rect(lock, height, axis, tz) for lock in locked if axis.visible(lock.start, lock.end)
    )
    parts.append(
        f'<rect id="review-selection" class="review-selection" x="{LABEL_W}" y="{AXIS_H - 2}" '
        f'width="0" height="{height - AXIS_H + 2}" visibility="hidden"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


__all__ = [
    "IDLE_LANE",
    "UNASSIGNED",
    "GroupBy",
    "IdleGapLike",
    "LockedPeriodLike",
    "ReviewedSegmentLike",
    "lane_names",
    "local_ticks",
    "render_review_svg",
    "segment_lanes",
]
