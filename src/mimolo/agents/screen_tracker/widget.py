"""The screen tracker's widget: the latest capture by artifact reference, never inline bytes.

The image is ``<img src="mimolo://artifact/<rel_path>">``; Operations' widget bridge
exchanges that reference for a short-lived token before Control sees the HTML.
``data-artifact-id`` and ``data-rel-path`` name the capture for the bridge and for tests;
Control's sanitizer strips them before display.
"""

from __future__ import annotations

from mimolo.agents.screen_tracker.store import CaptureRecord
from mimolo.sdk.clock import iso
from mimolo.sdk.widgets import escape

ARTIFACT_SCHEME = "mimolo://artifact/"


def render_latest(title: str, latest: CaptureRecord | None, problem: str | None) -> str:
    """An HTML fragment showing the newest capture (or why there is none)."""
    parts = [f"<section><header><h3>{escape(title)}</h3></header>"]
    if problem:
        parts.append(f'<p class="w-warn">{escape(problem)}</p>')
    if latest is None:
        parts.append("<p>No capture yet.</p>")
    else:
        when = iso(latest.captured_at)
        parts.append(
            "<figure>"
            f'<img src="{ARTIFACT_SCHEME}{escape(latest.rel_path)}" '
            f'alt="Screen capture at {escape(when)}" '
            f'data-artifact-id="{escape(latest.artifact_id)}" '
            f'data-rel-path="{escape(latest.rel_path)}">'
            f"<figcaption>{escape(when)} · {latest.width}x{latest.height} · "
            f"{escape(latest.mime)}</figcaption>"
            "</figure>"
        )
    parts.append("</section>")
    return "".join(parts)


__all__ = ["ARTIFACT_SCHEME", "render_latest"]
