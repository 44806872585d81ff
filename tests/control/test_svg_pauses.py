"""The timeline's paused band: pure markup on the chart's axis, escaped, no inline style."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mimolo.control.svg_chart import LABEL_W
from mimolo.control.svg_pauses import render_paused_band
from mimolo.timeline.pauses import PausedSpan

DAY = datetime(2026, 1, 5, tzinfo=UTC)


def test_no_spans_no_band() -> None:
    assert render_paused_band([], DAY, DAY + timedelta(days=1)) == ""


def test_a_span_sits_on_the_chart_axis_with_an_escaped_tooltip() -> None:
    span = PausedSpan(start=DAY + timedelta(hours=6), end=DAY + timedelta(hours=12), by="<cli>")
    ongoing = PausedSpan(
        start=DAY + timedelta(hours=18), end=DAY + timedelta(hours=24), ongoing=True
    )
    svg = render_paused_band([span, ongoing], DAY, DAY + timedelta(days=1), width=1000)
    plot_w = 1000 - LABEL_W - 8
    xs = [float(x) for x in re.findall(r'class="paused-span" x="([\d.]+)"', svg)]
    assert xs == [round(LABEL_W + plot_w / 4, 1), round(LABEL_W + plot_w * 3 / 4, 1)]
    assert "via &lt;cli&gt;" in svg and "<cli>" not in svg
    assert "still paused" in svg and "to 12:00 UTC" in svg
    assert "style=" not in svg and 'role="img"' in svg
    assert "Recording paused 2 time(s), 720 min in this range" in svg
