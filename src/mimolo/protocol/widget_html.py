"""The widget HTML sanitizer: Control's final authority over what an agent may put on a page.

Agents own their widget's presentation, but their HTML is untrusted. Every fragment passes
through :func:`sanitize_fragment` (nh3/ammonia with exactly the DESIGN §8 allowlist) and only
then through :func:`rewrite_artifact_refs`, which turns the surviving
``mimolo://artifact/<token>`` image sources into Control's authenticated artifact route.
The page's CSP is the second wall, not the first.

Decisions (also in docs/widgets.md):

- ``href`` is dropped from every ``<a>``: a widget can show link-styled text but cannot
  navigate Control, not even to a ``#fragment`` (Control's views must not be steerable).
- ``src`` survives only on ``<img>`` and only as ``mimolo://artifact/<token>`` with a token in
  the ``secrets.token_urlsafe`` alphabet; anything else (``http:``, ``data:``, ``file:``,
  relative or absolute paths, ``srcset``) is removed.
- ``id`` and ``name`` are not allowed, so a fragment cannot clobber Control's DOM names.
- ``script``, ``style``, ``template``, ``noscript``, ``textarea``, ``title``, ``xmp``,
  ``iframe``, ``object``, ``embed``, ``svg`` and ``math`` are removed with their content;
  any other unknown tag is unwrapped (its text stays, escaped).
"""

from __future__ import annotations

import re
from typing import Final

import nh3

from mimolo.errors import WidgetError

MAX_FRAGMENT_BYTES: Final = 64 * 1024
"""Fragments above this (UTF-8 bytes) are refused before the sanitizer sees them."""

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

ARTIFACT_SCHEME: Final = "mimolo"
TOKEN_PATTERN: Final = r"[A-Za-z0-9_-]{20,128}"  # noqa: S105 - a regex, not a secret
ARTIFACT_SRC_RE: Final = re.compile(rf"mimolo://artifact/({TOKEN_PATTERN})")
ARTIFACT_ROUTE: Final = "/artifacts"

# In nh3's serialised output ``<`` and ``>`` never occur inside attribute values or text
# (they are escaped), so every ``<img ...>`` match below is a real tag and its attribute
# values are exactly the sanitizer's.
_IMG_TAG_RE: Final = re.compile(r"<img\b[^<>]*>")
_IMG_SRC_RE: Final = re.compile(rf'(\ssrc=")mimolo://artifact/({TOKEN_PATTERN})(")')


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep ``src`` only as an artifact token on ``<img>``; drop every ``href``."""
    if attribute == "src":
        if tag == "img" and ARTIFACT_SRC_RE.fullmatch(value):
            return value
        return None
    if attribute == "href":
        return None
    return value


def check_fragment_size(html: str) -> int:
    """Return the fragment's UTF-8 size, raising ``render_payload_too_large`` above the cap."""
    size = len(html.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FRAGMENT_BYTES:
        raise WidgetError(
            f"widget fragment is {size} bytes; the limit is {MAX_FRAGMENT_BYTES}",
            code="render_payload_too_large",
        )
    return size


def sanitize_fragment(html: str) -> str:
    """Sanitize an agent's HTML fragment to the DESIGN §8 allowlist (size-checked first)."""
    check_fragment_size(html)
    # Lone surrogates cannot cross into Rust; replace them rather than fail the frame.
    text = html.encode("utf-8", errors="replace").decode("utf-8")
    return nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={"*": set(GLOBAL_ATTRIBUTES), "img": {"src"}},
        attribute_filter=_attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        generic_attribute_prefixes=set(GENERIC_ATTRIBUTE_PREFIXES),
        url_schemes={ARTIFACT_SCHEME},
        url_relative="deny",
    )


def rewrite_artifact_refs(sanitized: str, instance_id: str, route: str = ARTIFACT_ROUTE) -> str:
    """Point sanitized ``mimolo://artifact/<token>`` images at ``<route>/<instance_id>/<token>``.

    Must run on :func:`sanitize_fragment` output only: it relies on the serialiser's escaping.
    The instance id in the URL lets Control refuse a token presented for another instance.
    """

    def _tag(match: re.Match[str]) -> str:
        return _IMG_SRC_RE.sub(
            lambda src: f"{src.group(1)}{route}/{instance_id}/{src.group(2)}{src.group(3)}",
            match.group(0),
        )

    return _IMG_TAG_RE.sub(_tag, sanitized)


def artifact_tokens(sanitized: str) -> list[str]:
    """The artifact tokens referenced by ``<img>`` sources in sanitized HTML, in order."""
    found: list[str] = []
    for tag in _IMG_TAG_RE.finditer(sanitized):
        found.extend(src.group(2) for src in _IMG_SRC_RE.finditer(tag.group(0)))
    return found


def prepare_widget_html(html: str, instance_id: str, route: str = ARTIFACT_ROUTE) -> str:
    """Size check, sanitize, then rewrite artifact refs: what Control puts in a canvas."""
    return rewrite_artifact_refs(sanitize_fragment(html), instance_id, route)


__all__ = [
    "ALLOWED_TAGS",
    "ARTIFACT_ROUTE",
    "MAX_FRAGMENT_BYTES",
    "TOKEN_PATTERN",
    "artifact_tokens",
    "check_fragment_size",
    "prepare_widget_html",
    "rewrite_artifact_refs",
    "sanitize_fragment",
]
