"""The review chart: reviewed segments in lanes, idle gaps, locked periods, local time.

Pure: the reviewed timeline's pieces in, SVG out, on the same x axis as ``svg_timeline``
(same label column and width) so the paused band and application lanes line up under it.
The root carries the range and the plot geometry (``data-*``) so ``review.js`` can turn a
drag into times; ticks are local wall-clock times in the page's zone. Colours come from
CSS classes (the CSP forbids inline style); every piece of text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal, Protocol
from xml.sax.saxutils import escape, quoteattr

from mimolo.control.svg_timeline import AXIS_H, BAR_H, LABEL_W, LANE_GAP, LANE_H, PALETTE_SIZE

GroupBy = Literal["client", "instance"]
UNASSIGNED = "unassigned"
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


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


class _Axis:
    """Maps instants to x within the plot."""

    def __init__(self, start: datetime, end: datetime, width: int) -> None:
        self.start, self.end = start, end
        self.plot_w = width - LABEL_W - 8
        self.total = max((end - start).total_seconds(), 1.0)

    def x(self, moment: datetime) -> float:
        offset = (moment - self.start).total_seconds()
        return LABEL_W + max(0.0, min(1.0, offset / self.total)) * self.plot_w

    def visible(self, start: datetime, end: datetime) -> bool:
        return end > self.start and start < self.end


def _segment_tip(segment: ReviewedSegmentLike, lane: str, tz: tzinfo) -> str:
    tip = f"{lane}: {_clock(segment.start, tz)} to {segment.end.astimezone(tz):%H:%M}"
    tip += f" ({_duration(segment.duration_s)}, {segment.source})"
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
    index: int, segment: ReviewedSegmentLike, lane: str, y: float, axis: _Axis, tz: tzinfo
) -> str:
    classes = ["seg", f"src-{segment.source}"]
    if segment.adjustment_ids:
        classes.append("seg-adjusted")
    if segment.locked_by:
        classes.append("seg-locked")
    x1, x2 = axis.x(segment.start), axis.x(segment.end)
    return (
        f'<rect class="{" ".join(classes)}" x="{x1:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" '
        f'width="{max(x2 - x1, 2.0):.1f}" height="{BAR_H}" rx="3" data-segment="{index}" '
        f"data-adjustments={quoteattr(' '.join(segment.adjustment_ids))}>"
        f"<title>{escape(_segment_tip(segment, lane, tz))}</title></rect>"
    )


def _excluded_rect(
    segment: ReviewedSegmentLike, lane: str, y: float, axis: _Axis, tz: tzinfo
) -> str:
    x1, x2 = axis.x(segment.start), axis.x(segment.end)
    tip = (
        f"{lane}: {_clock(segment.start, tz)} to {segment.end.astimezone(tz):%H:%M} excluded "
        f"({_duration(segment.duration_s)}, not counted)"
    )
    return (
        f'<rect class="seg-excluded" x="{x1:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" '
        f'width="{max(x2 - x1, 2.0):.1f}" height="{BAR_H}" rx="3" '
        f"data-adjustments={quoteattr(' '.join(segment.adjustment_ids))}>"
        f"<title>{escape(tip)}</title></rect>"
    )


def _idle_rect(gap: IdleGapLike, y: float, axis: _Axis, decisions: Mapping[str, str]) -> str:
    decision = decisions.get(gap.decided_by or "", "undecided")
    x1, x2 = axis.x(gap.start), axis.x(gap.end)
    tip = f"Idle {_duration((gap.end - gap.start).total_seconds())}: {decision.replace('_', ' ')}"
    return (
        f'<rect class="idle-gap idle-{escape(decision)}" x="{x1:.1f}" '
        f'y="{y + (LANE_H - BAR_H) / 2:.1f}" width="{max(x2 - x1, 2.0):.1f}" '
        f'height="{BAR_H}" rx="3" data-gap-start={quoteattr(gap.start.isoformat())}>'
        f"<title>{escape(tip)}</title></rect>"
    )


def _lock_rect(lock: LockedPeriodLike, height: float, axis: _Axis, tz: tzinfo) -> str:
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
    axis = _Axis(start, end, width)
    names = lane_names([*segments, *excluded], group)
    rows = len(names) + (1 if idle_gaps else 0)
    height = AXIS_H + max(rows, 1) * (LANE_H + LANE_GAP) + LOCK_LABEL_H
    title = f"Reviewed work by {group}, {_clock(start, tz)} to {_clock(end, tz)} ({tz})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg review-svg" role="img" '
        f'id="review-chart" viewBox="0 0 {width} {height}" width="100%" '
        f"aria-label={quoteattr(title)} data-start={quoteattr(start.isoformat())} "
        f'data-end={quoteattr(end.isoformat())} data-plot-x="{LABEL_W}" '
        f'data-plot-w="{axis.plot_w}" data-width="{width}" data-zone={quoteattr(str(tz))}>',
        f"<title>{escape(title)}</title>",
    ]
    for moment, label in local_ticks(start, end, tz):
        x = axis.x(moment)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="{AXIS_H - 4}" x2="{x:.1f}" y2="{height}"/>'
            f'<text class="tick-label" x="{x + 3:.1f}" y="{AXIS_H - 8}">{escape(label)}</text>'
        )
    if not rows:
        parts.append(
            f'<text class="empty-label" x="{LABEL_W}" y="{AXIS_H + LANE_H - 8}">'
            "No work segments in this range. Drag here to add a manual entry.</text>"
        )
    for row, name in enumerate(names):
        y = AXIS_H + row * (LANE_H + LANE_GAP)
        parts.append(
            f'<g class="lane lane-c{row % PALETTE_SIZE}" data-lane={quoteattr(name)}>'
            f'<rect class="lane-bg" x="{LABEL_W}" y="{y}" width="{axis.plot_w}" height="{LANE_H}"/>'
            f'<text class="lane-label" x="4" y="{y + LANE_H / 2 + 4:.1f}">'
            f"{escape(name[:22])}</text>"
        )
        for segment in excluded:
            if name in segment_lanes(segment, group) and axis.visible(segment.start, segment.end):
                parts.append(_excluded_rect(segment, name, y, axis, tz))
        for index, segment in enumerate(segments):
            if name in segment_lanes(segment, group) and axis.visible(segment.start, segment.end):
                parts.append(_segment_rect(index, segment, name, y, axis, tz))
        parts.append("</g>")
    if idle_gaps:
        y = AXIS_H + len(names) * (LANE_H + LANE_GAP)
        parts.append(
            f'<g class="lane idle-lane" data-lane="{IDLE_LANE}">'
            f'<text class="lane-label" x="4" y="{y + LANE_H / 2 + 4:.1f}">{IDLE_LANE}</text>'
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
