"""Widget HTML: the sanitizer, the bounds and the class vocabulary, shared by both sides.

Agents own their widget's presentation, but their HTML is untrusted. Every fragment passes
through :func:`clean_fragment`: nh3 (ammonia, an HTML5 parser) with exactly the DESIGN §8
allowlist, then the bounds (images, table rows) counted **on nh3's output**. Operations'
preflight and Control both call it, so the limits hold for what a page actually shows and
no second parser can disagree with the first (``html.parser`` sees ``<svg><style><table>``
as text where an HTML5 parser sees a table). Control then runs
:func:`rewrite_artifact_refs`, which turns the surviving ``mimolo://artifact/<token>`` image
sources into its authenticated artifact route. The page's CSP is the second wall, and the
widget's shadow root (``static/widgets.js``) keeps the page's styles out of reach.

Decisions (also in docs/widgets.md):

- ``class`` keeps only the documented widget classes (:data:`WIDGET_CLASSES`, all ``w-…``);
  every other class is removed, so a widget cannot borrow Control's own classes
  (``toast``, ``skip-link``, ``button``, ``banner`` …) to dress up as the app.
- ``href`` is dropped from every ``<a>``: a widget can show link-styled text but cannot
  navigate Control, not even to a ``#fragment`` (Control's views must not be steerable).
- ``src`` survives only on ``<img>``: in Control only as ``mimolo://artifact/<token>`` with a
  token in the ``secrets.token_urlsafe`` alphabet; in Operations' preflight only as
  ``mimolo://artifact/<rel_path>`` (before the exchange for a token). Anything else
  (``http:``, ``data:``, ``file:``, relative or absolute paths, ``srcset``) is removed.
- ``id`` and ``name`` are not allowed, so a fragment cannot clobber Control's DOM names.
- ``aria-live`` survives only as ``polite``; bidirectional control characters (which can
  make text read backwards, ``exe.png`` for ``gnp.exe``) are removed from text and
  attribute values.
- ``script``, ``style``, ``template``, ``noscript``, ``textarea``, ``title``, ``xmp``,
  ``iframe``, ``object``, ``embed``, ``svg`` and ``math`` are removed with their content;
  any other unknown tag is unwrapped (its text stays, escaped).
- The output is a fixed point: it is sanitized again until a pass changes nothing (a
  browser re-parses what it is given, and ``<table><img>`` re-parses as ``<img><table>``),
  so what is counted and shown is what a second parse builds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final, Literal

import msgspec
import nh3

from mimolo.errors import WidgetError

MAX_FRAGMENT_BYTES: Final = 64 * 1024
"""Fragments above this (UTF-8 bytes) are refused before the sanitizer sees them."""
MAX_IMAGES: Final = 32
"""Images per fragment, counted on the sanitizer's output."""
MAX_TABLE_ROWS: Final = 1000
"""Table rows per fragment, counted on the sanitizer's output."""

ALLOWED_TAGS: Final = frozenset(
    {
        "div",
        "section",
        "article",
        "header",
        "footer",
        "h1",
        "h2",
        "h3",
        "p",
        "span",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "img",
        "a",
    }
)

WIDGET_CLASSES: Final = frozenset(
    {
        "w-row",  # children side by side, wrapping
        "w-grid",  # children in equal columns
        "w-muted",  # secondary text
        "w-small",  # smaller text
        "w-strong",  # bold text
        "w-mono",  # monospace text
        "w-num",  # right-aligned tabular figures
        "w-nowrap",  # no line breaks
        "w-stat",  # a large figure
        "w-ok",  # good news (colour only)
        "w-warn",  # a warning (colour only)
        "w-bad",  # bad news (colour only)
        "w-compact",  # a denser table
    }
)
"""The only classes a widget may use; styled by ``control/static/widget.css``."""

GLOBAL_ATTRIBUTES: Final = frozenset({"class", "title", "alt"})
GENERIC_ATTRIBUTE_PREFIXES: Final = frozenset({"aria-"})

CLEAN_CONTENT_TAGS: Final = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "noembed",
        "noframes",
        "textarea",
        "title",
        "xmp",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "select",
        "option",
        "button",
        "head",
    }
)
"""Dropped together with everything inside them (their content is code or chrome)."""

BIDI_CONTROLS: Final = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidirectional formatting characters; removed from widget text and attribute values."""
_BIDI_RE: Final = re.compile(f"[{BIDI_CONTROLS}]")

ARTIFACT_SCHEME: Final = "mimolo"
ARTIFACT_PREFIX: Final = "mimolo://artifact/"
TOKEN_PATTERN: Final = r"[A-Za-z0-9_-]{20,128}"  # noqa: S105 - a regex, not a secret
ARTIFACT_REF_PATTERN: Final = r"[A-Za-z0-9._/-]{1,512}"
"""An agent's artifact reference (a relative path), before Operations exchanges it."""
ARTIFACT_SRC_RE: Final = re.compile(rf"mimolo://artifact/({TOKEN_PATTERN})")
ARTIFACT_REF_SRC_RE: Final = re.compile(rf"mimolo://artifact/({ARTIFACT_REF_PATTERN})")
ARTIFACT_ROUTE: Final = "/artifacts"

SourcePolicy = Literal["token", "reference"]
"""Which ``<img src>`` survives: Control's ``token`` form or the agent's ``reference`` form."""

_SOURCE_RES: Final[Mapping[str, re.Pattern[str]]] = {
    "token": ARTIFACT_SRC_RE,
    "reference": ARTIFACT_REF_SRC_RE,
}

# In nh3's serialised output ``<`` and ``>`` never occur inside attribute values or text
# (they are escaped), so every ``<img ...>`` or ``<tr ...>`` match below is a real tag and
# its attribute values are exactly the sanitizer's.
_IMG_TAG_RE: Final = re.compile(r"<img\b[^<>]*>")
_ROW_TAG_RE: Final = re.compile(r"<tr\b")
_IMG_SRC_RE: Final = re.compile(r'(\ssrc=")([^"]*)(")')


class CleanFragment(msgspec.Struct, frozen=True, kw_only=True):
    """A sanitized fragment and what it contains, counted on the sanitized HTML itself."""

    html: str
    bytes: int
    """UTF-8 size of the fragment as received (the bound applies to that)."""
    images: int
    rows: int
    sources: tuple[str, ...]
    """The ``src`` of every image, in order (``""`` for an image whose source was removed)."""


def _class_value(value: str) -> str | None:
    """Keep the documented widget classes of a ``class`` value, once each, in order."""
    kept: list[str] = []
    for name in value.split():
        if name in WIDGET_CLASSES and name not in kept:
            kept.append(name)
    return " ".join(kept) or None


def _attribute_filter(source_re: re.Pattern[str]) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "src":
            return value if tag == "img" and source_re.fullmatch(value) else None
        if attribute == "href":
            return None
        if attribute == "class":
            return _class_value(value)
        if attribute == "aria-live":
            return "polite" if value.strip().lower() == "polite" else None
        return value

    return keep


_FILTERS: Final = {name: _attribute_filter(regex) for name, regex in _SOURCE_RES.items()}
_MAX_PASSES: Final = 4


def check_fragment_size(html: str, what: str = "widget fragment") -> int:
    """Return the fragment's UTF-8 size, raising ``render_payload_too_large`` above the cap."""
    size = len(html.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FRAGMENT_BYTES:
        raise WidgetError(
            f"{what} is {size} bytes; the limit is {MAX_FRAGMENT_BYTES}",
            code="render_payload_too_large",
        )
    return size


def _clean_once(text: str, sources: SourcePolicy) -> str:
    cleaned = nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={"*": set(GLOBAL_ATTRIBUTES), "img": {"src"}},
        attribute_filter=_FILTERS[sources],
        strip_comments=True,
        link_rel="noopener noreferrer",
        generic_attribute_prefixes=set(GENERIC_ATTRIBUTE_PREFIXES),
        url_schemes={ARTIFACT_SCHEME},
        url_relative="deny",
    )
    # Safe on serialised output: these characters are never part of markup, and removing
    # one cannot form a tag (``<`` and ``&`` in text and values are escaped).
    return _BIDI_RE.sub("", cleaned)


def sanitize_fragment(html: str, *, sources: SourcePolicy = "token") -> str:
    """Sanitize an agent's HTML fragment to the DESIGN §8 allowlist (size-checked first)."""
    check_fragment_size(html)
    # Lone surrogates cannot cross into Rust; replace them rather than fail the frame.
    text = html.encode("utf-8", errors="replace").decode("utf-8")
    cleaned = _clean_once(text, sources)
    for _ in range(_MAX_PASSES):
        again = _clean_once(cleaned, sources)
        if again == cleaned:
            return cleaned
        cleaned = again
    raise WidgetError(
        "widget HTML keeps changing when parsed again; it is refused",
        code="render_validation_failed",
    )


def _image_source(tag: str) -> str:
    found = _IMG_SRC_RE.search(tag)
    return "" if found is None else found.group(2)


def clean_fragment(
    html: str,
    *,
    sources: SourcePolicy = "token",
    max_images: int = MAX_IMAGES,
    max_rows: int = MAX_TABLE_ROWS,
) -> CleanFragment:
    """Sanitize, then count and bound images and rows on the sanitized HTML.

    Raises ``WidgetError``: ``render_payload_too_large`` over :data:`MAX_FRAGMENT_BYTES`,
    ``render_validation_failed`` over the image or row bound.
    """
    size = check_fragment_size(html)
    clean = sanitize_fragment(html, sources=sources)
    found = tuple(_image_source(tag.group(0)) for tag in _IMG_TAG_RE.finditer(clean))
    rows = len(_ROW_TAG_RE.findall(clean))
    if len(found) > max_images:
        raise WidgetError(
            f"widget fragment has {len(found)} images; the limit is {max_images}",
            code="render_validation_failed",
        )
    if rows > max_rows:
        raise WidgetError(
            f"widget fragment has {rows} table rows; the limit is {max_rows}",
            code="render_validation_failed",
        )
    return CleanFragment(html=clean, bytes=size, images=len(found), rows=rows, sources=found)


def replace_image_sources(sanitized: str, replace: Callable[[str], str]) -> str:
    """Rewrite the ``src`` of every ``<img>`` in sanitized HTML with ``replace(src)``.

    Must run on :func:`sanitize_fragment` output only: it relies on the serialiser's escaping.
    """

    def _tag(match: re.Match[str]) -> str:
        return _IMG_SRC_RE.sub(
            lambda src: f"{src.group(1)}{replace(src.group(2))}{src.group(3)}", match.group(0)
        )

    return _IMG_TAG_RE.sub(_tag, sanitized)


def rewrite_artifact_refs(sanitized: str, instance_id: str, route: str = ARTIFACT_ROUTE) -> str:
    """Point sanitized ``mimolo://artifact/<token>`` images at ``<route>/<instance_id>/<token>``.

    The instance id in the URL lets Control refuse a token presented for another instance.
    """

    def _route(src: str) -> str:
        token = ARTIFACT_SRC_RE.fullmatch(src)
        return src if token is None else f"{route}/{instance_id}/{token.group(1)}"

    return replace_image_sources(sanitized, _route)


def artifact_tokens(sanitized: str) -> list[str]:
    """The artifact tokens referenced by ``<img>`` sources in sanitized HTML, in order."""
    found: list[str] = []
    for tag in _IMG_TAG_RE.finditer(sanitized):
        token = ARTIFACT_SRC_RE.fullmatch(_image_source(tag.group(0)))
        if token is not None:
            found.append(token.group(1))
    return found


def prepare_widget_html(html: str, instance_id: str, route: str = ARTIFACT_ROUTE) -> str:
    """Size check, sanitize, bound, then rewrite artifact refs: what Control puts in a canvas."""
    return rewrite_artifact_refs(clean_fragment(html).html, instance_id, route)


__all__ = [
    "ALLOWED_TAGS",
    "ARTIFACT_PREFIX",
    "ARTIFACT_REF_PATTERN",
    "ARTIFACT_ROUTE",
    "BIDI_CONTROLS",
    "MAX_FRAGMENT_BYTES",
    "MAX_IMAGES",
    "MAX_TABLE_ROWS",
    "TOKEN_PATTERN",
    "WIDGET_CLASSES",
    "CleanFragment",
    "SourcePolicy",
    "artifact_tokens",
    "check_fragment_size",
    "clean_fragment",
    "prepare_widget_html",
    "replace_image_sources",
    "rewrite_artifact_refs",
    "sanitize_fragment",
]
