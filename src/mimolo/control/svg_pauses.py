"""The "paused" band under the timeline chart: when recording was off the record.

Pure: paused spans in, SVG out, on the same x axis as the other charts (``svg_chart``:
same label column and width), so a gap in the work lanes lines up with the band that
explains it. Colours come from CSS classes (the CSP forbids inline style); text is
XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from mimolo.control.svg_chart import Axis, svg_open
from mimolo.timeline.pauses import PausedSpan

BAND_H = 22


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"


def render_paused_band(
    spans: Sequence[PausedSpan], start: datetime, end: datetime, *, width: int = 1000
) -> str:
    """One band with a ``paused`` rectangle per span (empty markup when there is none)."""
    if not spans:
        return ""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    axis = Axis(start, end, width)
    minutes = round(sum(s.duration_s for s in spans) / 60)
    title = f"Recording paused {len(spans)} time(s), {minutes} min in this range"
    parts = svg_open("timeline-svg paused-band", width, BAND_H + 4, title)
    parts.append(f'<text class="lane-label" x="4" y="{BAND_H / 2 + 6:.1f}">Paused</text>')
    for span in spans:
        x1, x2 = axis.x(span.start), axis.x(span.end)
        ending = "still paused" if span.ongoing else f"to {_clock(span.end)[11:]}"
        tip = f"Recording paused {_clock(span.start)} {ending} UTC"
        if span.by:
            tip += f" (via {span.by})"
        parts.append(
            f'<rect class="paused-span" x="{x1:.1f}" y="2" width="{max(x2 - x1, 2.0):.1f}" '
            f'height="{BAND_H}" rx="3" data-start={quoteattr(span.start.isoformat())}>'
            f"<title>{escape(tip)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["render_paused_band"]
