"""Server-rendered SVG of artifact usage: one bar per instance, stacked by retention class.

Pure: inventory answers in, markup out, like ``svg_timeline``. No inline ``style`` (the
CSP forbids it): colours come from CSS classes (``store-c0`` … ``store-c5``), geometry from
SVG presentation attributes; every piece of text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import msgspec

PALETTE_SIZE = 6
LABEL_W = 200
VALUE_W = 110
ROW_H = 26
ROW_GAP = 10
BAR_H = 18
LEGEND_H = 26


class UsagePart(msgspec.Struct, frozen=True):
    retention_class: str
    bytes: int
    files: int


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """One instance's usage as the chart and the table show it."""

    instance_id: str
    label: str
    total_bytes: int
    total_files: int
    parts: list[UsagePart]


def human_bytes(n: Any) -> str:
    """``1.4 MB`` (decimal units, as disks are sold); a dash when unknown."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        return "\u2013"
    value = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_row(instance_id: str, label: str, inventory: Mapping[str, Any]) -> UsageRow:
    """A row from a ``get_artifact_inventory`` answer (unknown fields read as zero)."""
    parts = []
    for item in inventory.get("classes") or []:
        if isinstance(item, Mapping):
            name = str(item.get("retention_class") or "unclassified")
            parts.append(UsagePart(name, _int(item.get("bytes")), _int(item.get("files"))))
    return UsageRow(
        instance_id=instance_id,
        label=label,
        total_bytes=_int(inventory.get("total_bytes")),
        total_files=_int(inventory.get("total_files")),
        parts=sorted(parts, key=lambda p: p.retention_class),
    )


def class_colours(rows: Sequence[UsageRow]) -> dict[str, int]:
    """A stable colour index per retention class (by name, across all rows)."""
    names = sorted({part.retention_class for row in rows for part in row.parts})
    return {name: index % PALETTE_SIZE for index, name in enumerate(names)}


def render_usage_svg(rows: Sequence[UsageRow], *, width: int = 1000) -> str:
    """An accessible stacked bar chart of ``rows`` (bars scaled to the largest total)."""
    colours = class_colours(rows)
    plot_w = width - LABEL_W - VALUE_W
    largest = max((row.total_bytes for row in rows), default=0) or 1
    height = LEGEND_H + max(len(rows), 1) * (ROW_H + ROW_GAP) + 4
    title = "Artifact storage per instance, stacked by retention class"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="storage-svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    x = float(LABEL_W)
    for name, colour in colours.items():
        parts.append(
            f'<g class="legend store-c{colour}"><rect class="part" x="{x:.1f}" y="4" '
            f'width="12" height="12" rx="2"/><text class="legend-label" x="{x + 16:.1f}" '
            f'y="15">{escape(name)}</text></g>'
        )
        x += 24 + 8 * len(name)
    if not rows:
        parts.append(
            f'<text class="empty-label" x="{LABEL_W}" y="{LEGEND_H + ROW_H - 8}">'
            "No instances.</text>"
        )
    for index, row in enumerate(rows):
        y = LEGEND_H + index * (ROW_H + ROW_GAP)
        parts.append(
            f'<g class="usage-row" data-instance={quoteattr(row.instance_id)}>'
            f'<text class="row-label" x="4" y="{y + ROW_H / 2 + 4:.1f}">'
            f"{escape(row.label[:28])}</text>"
            f'<rect class="row-bg" x="{LABEL_W}" y="{y}" width="{plot_w}" height="{ROW_H}"/>'
        )
        x = float(LABEL_W)
        for part in row.parts:
            w = plot_w * part.bytes / largest
            if w <= 0:
                continue
            size = human_bytes(part.bytes)
            tip = f"{row.label}: {part.retention_class}, {size} in {part.files} files"
            parts.append(
                f'<rect class="part store-c{colours[part.retention_class]}" x="{x:.1f}" '
                f'y="{y + (ROW_H - BAR_H) / 2:.1f}" width="{max(w, 1.0):.1f}" height="{BAR_H}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            x += w
        parts.append(
            f'<text class="row-value" x="{width - VALUE_W + 8}" y="{y + ROW_H / 2 + 4:.1f}">'
            f"{escape(human_bytes(row.total_bytes))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


__all__ = [
    "UsagePart",
    "UsageRow",
    "class_colours",
    "human_bytes",
    "render_usage_svg",
    "usage_row",
]
