"""Widget types for agents: the render request, the manifest, small HTML helpers.

Agents own presentation (DESIGN §8): ``render_widget`` returns an HTML fragment made only
of the tags Control allows. ``html_table`` builds the most common fragment, escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

CONTENT_MODE: Final = "html_fragment_v1"
WIDGET_NOT_SUPPORTED: Final = "widget_not_supported"


class WidgetRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What Control asked for in a ``widget_render`` command's ``args``."""

    request_id: str
    width: int | None = None
    height: int | None = None
    state_token: str | None = None
    args: dict[str, Any] = {}

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> WidgetRequest:
        """Build from command ``args``, tolerating missing or mistyped optional keys."""

        def _int(value: object) -> int | None:
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        token = args.get("state_token")
        return cls(
            request_id=str(args.get("request_id", "")),
            width=_int(args.get("width")),
            height=_int(args.get("height")),
            state_token=token if isinstance(token, str) else None,
            args=dict(args),
        )


def default_manifest(
    *,
    supported_actions: Sequence[str] = ("refresh",),
    default_aspect_ratio: str = "16:9",
    min_refresh_ms: int = 1000,
) -> dict[str, Any]:
    """The manifest shape Control reads (``get_widget_manifest``)."""
    return {
        "supports_render": True,
        "default_aspect_ratio": default_aspect_ratio,
        "min_refresh_ms": min_refresh_ms,
        "supported_actions": list(supported_actions),
        "content_modes": [CONTENT_MODE],
    }


def escape(value: object) -> str:
    """HTML-escape any value's ``str``."""
    return html.escape(str(value), quote=True)


def html_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, css_class: str = "w-compact"
) -> str:
    """An escaped ``<table>`` fragment with a header row (``css_class``: a widget class,
    docs/widgets.md; Control removes any other)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f'<table class="{escape(css_class)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


__all__ = [
    "CONTENT_MODE",
    "WIDGET_NOT_SUPPORTED",
    "WidgetRequest",
    "default_manifest",
    "escape",
    "html_table",
]
