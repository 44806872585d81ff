"""What Control's SVG charts share: the geometry, the x axis, ticks, lanes and bars.

Pure markup helpers for ``svg_timeline``, ``svg_review``, ``svg_app_lanes`` and
``svg_pauses``, so the charts of one page share one x axis (the same label column and
plot width) and one look. No inline ``style`` (the CSP forbids it): colours come from CSS
classes; geometry uses SVG presentation attributes. Every piece of text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

PALETTE_SIZE = 8
LABEL_W = 160
LANE_H = 28
LANE_GAP = 8
AXIS_H = 24
BAR_H = 18

GroupBy = Literal["client", "instance"]
"""What a chart's lanes are: one per client, or one per agent instance."""
UNASSIGNED = "unassigned"
"""The lane of time no client was given."""


class Axis:
    """Maps instants of ``[start, end)`` to x within the plot of a chart ``width`` wide."""

    def __init__(self, start: datetime, end: datetime, width: int) -> None:
        self.start, self.end = start, end
        self.plot_w = width - LABEL_W - 8
        self.total = max((end - start).total_seconds(), 1.0)

    def x(self, moment: datetime) -> float:
        offset = (moment - self.start).total_seconds()
        return LABEL_W + max(0.0, min(1.0, offset / self.total)) * self.plot_w

    def visible(self, start: datetime, end: datetime) -> bool:
        return end > self.start and start < self.end


def hours_minutes(seconds: float) -> str:
    """``"3h 05m"``."""
    minutes = round(seconds / 60)
    return f"{minutes // 60}h {minutes % 60:02d}m"


def utc_ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Every 3 hours across a day, every day across a longer range (UTC)."""
    if end - start <= timedelta(days=1, hours=1):
        step, fmt = timedelta(hours=3), "%H:%M"
    else:
        step, fmt = timedelta(days=1), "%a %d"
    out: list[tuple[datetime, str]] = []
    tick = start
    while tick < end:
        out.append((tick, tick.strftime(fmt)))
        tick += step
    return out


def lane_y(row: int) -> int:
    return AXIS_H + row * (LANE_H + LANE_GAP)


def chart_height(rows: int, below: int = 4) -> int:
    """Axis, ``rows`` lanes (at least one, for the empty message) and ``below`` more."""
    return AXIS_H + max(rows, 1) * (LANE_H + LANE_GAP) + below


def svg_open(
    css: str, width: int, height: int, title: str, *, lead: str = "", tail: str = ""
) -> list[str]:
    """The root element and its title; ``lead``/``tail`` are extra attributes (already
    quoted) before the view box and after the label."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" {lead}'
        f'viewBox="0 0 {width} {height}" width="100%" aria-label={quoteattr(title)}{tail}>',
        f"<title>{escape(title)}</title>",
    ]


def tick_marks(ticks: Iterable[tuple[datetime, str]], axis: Axis, height: int) -> list[str]:
    out: list[str] = []
    for moment, label in ticks:
        x = axis.x(moment)
        out.append(
            f'<line class="tick" x1="{x:.1f}" y1="{AXIS_H - 4}" x2="{x:.1f}" y2="{height}"/>'
            f'<text class="tick-label" x="{x + 3:.1f}" y="{AXIS_H - 8}">{escape(label)}</text>'
        )
    return out


def empty_label(text: str) -> str:
    return (
        f'<text class="empty-label" x="{LABEL_W}" y="{AXIS_H + LANE_H - 8}">{escape(text)}</text>'
    )


def lane_label(name: str, y: float) -> str:
    return f'<text class="lane-label" x="4" y="{y + LANE_H / 2 + 4:.1f}">{escape(name[:22])}</text>'


def lane_open(css: str, data: str, name: str, y: int, axis: Axis) -> str:
    """A lane's group (its classes and ``data`` attribute), background and label."""
    return (
        f'<g class="lane {css}" {data}>'
        f'<rect class="lane-bg" x="{LABEL_W}" y="{y}" width="{axis.plot_w}" height="{LANE_H}"/>'
        + lane_label(name, y)
    )


def bar(css: str, x1: float, x2: float, y: float, tip: str, attrs: str = "") -> str:
    """A bar of a lane from ``x1`` to ``x2`` (at least 2 wide) with its tooltip."""
    return (
        f'<rect class="{css}" x="{x1:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" '
        f'width="{max(x2 - x1, 2.0):.1f}" height="{BAR_H}" rx="3"{attrs}>'
        f"<title>{escape(tip)}</title></rect>"
    )


__all__ = [
    "AXIS_H",
    "BAR_H",
    "LABEL_W",
    "LANE_GAP",
    "LANE_H",
    "PALETTE_SIZE",
    "UNASSIGNED",
    "Axis",
    "GroupBy",
    "bar",
    "chart_height",
    "empty_label",
    "hours_minutes",
    "lane_label",
    "lane_open",
    "lane_y",
    "svg_open",
    "tick_marks",
    "utc_ticks",
]
