"""Frame preflight: what Operations checks in a widget frame before it is cached or shown.

The widget bridge (``widget_bridge``) correlates and caches frames; the checks on a frame's
HTML are pure and tested on their own, so they live here: the size bound, then image and
row counts and artifact references taken on the sanitizer's own parse
(``mimolo.protocol.widget_html.clean_fragment``, the function Control uses too), and the
exchange of each ``mimolo://artifact/<rel_path>`` image source for its token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from mimolo.errors import WidgetError
from mimolo.protocol.widget_html import (
    ARTIFACT_PREFIX,
    ARTIFACT_REF_SRC_RE,
    MAX_FRAGMENT_BYTES,
    MAX_IMAGES,
    MAX_TABLE_ROWS,
    check_fragment_size,
    clean_fragment,
    replace_image_sources,
)

MAX_FRAME_BYTES: Final = MAX_FRAGMENT_BYTES


class FramePreflight(msgspec.Struct, frozen=True, kw_only=True):
    """What a frame's HTML contains, counted on the sanitizer's output."""

    bytes: int
    images: int
    rows: int
    artifact_refs: tuple[str, ...]
    html: str
    """The sanitized HTML (image sources still ``mimolo://artifact/<rel_path>``)."""


def preflight_frame(
    html: str,
    *,
    max_bytes: int = MAX_FRAME_BYTES,
    max_images: int = MAX_IMAGES,
    max_rows: int = MAX_TABLE_ROWS,
) -> FramePreflight:
    """Check a frame's bounds and image sources; raise ``WidgetError`` with the code.

    Counts are taken on what the sanitizer outputs (the parse Control shows), and every
    image must keep an artifact reference through it: a source the sanitizer removed
    (``http:``, ``data:``, a path …) fails the frame instead of silently vanishing.
    """
    size = len(html.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise WidgetError(
            f"widget frame is {size} bytes; the limit is {max_bytes}",
            code="render_payload_too_large",
        )
    checked = clean_fragment(html, sources="reference", max_images=max_images, max_rows=max_rows)
    check_fragment_size(checked.html, "the sanitized widget frame")
    refs: list[str] = []
    for number, src in enumerate(checked.sources, 1):
        ref = ARTIFACT_REF_SRC_RE.fullmatch(src)
        if ref is None:
            raise WidgetError(
                f"image {number} of {checked.images} has no artifact reference as its source"
                f" ({ARTIFACT_PREFIX}<rel_path>; any other source is removed by the sanitizer)",
                code="render_validation_failed",
            )
        if ref.group(1) not in refs:
            refs.append(ref.group(1))
    return FramePreflight(
        bytes=size,
        images=checked.images,
        rows=checked.rows,
        artifact_refs=tuple(refs),
        html=checked.html,
    )


def exchange_refs(sanitized: str, tokens: Mapping[str, str]) -> str:
    """Replace each image's ``mimolo://artifact/<rel_path>`` in ``tokens`` by its token's.

    ``sanitized`` is :func:`preflight_frame`'s HTML: only real ``<img src>`` are touched.
    """

    def _swap(src: str) -> str:
        ref = ARTIFACT_REF_SRC_RE.fullmatch(src)
        token = None if ref is None else tokens.get(ref.group(1))
        return src if token is None else f"{ARTIFACT_PREFIX}{token}"

    return replace_image_sources(sanitized, _swap)


__all__ = ["MAX_FRAME_BYTES", "FramePreflight", "exchange_refs", "preflight_frame"]
