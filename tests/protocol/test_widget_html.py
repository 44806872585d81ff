"""The widget sanitizer: hostile corpus in, only the DESIGN §8 allowlist out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from mimolo.errors import WidgetError
from mimolo.protocol.widget_html import (
    ALLOWED_TAGS,
    MAX_FRAGMENT_BYTES,
    artifact_tokens,
    check_fragment_size,
    prepare_widget_html,
    rewrite_artifact_refs,
    sanitize_fragment,
)

from .hostile_fragments import CANARY_HOST, CASE_IDS, HOSTILE_FRAGMENTS, TOKEN

SAFE_ATTRIBUTES = {"class", "title", "alt", "src", "rel"}
SRC_RE = re.compile(r"mimolo://artifact/[A-Za-z0-9_-]{20,128}")
ROUTED_SRC_RE = re.compile(r"/artifacts/[a-z0-9][a-z0-9_-]*/[A-Za-z0-9_-]{20,128}")


class _Inventory(HTMLParser):
    """Every tag, attribute and comment in a fragment, as a browser-like parser sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.declarations: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def unknown_decl(self, data: str) -> None:
        self.declarations.append(data)


def inventory(html: str) -> _Inventory:
    parser = _Inventory()
    parser.feed(html)
    parser.close()
    return parser


def assert_harmless(output: str, *, routed: bool = False) -> None:
    """No tag, attribute or URL outside the allowlist survives in ``output``."""
    found = inventory(output)
    assert not found.comments, output
    assert not found.declarations, output
    for tag, attrs in found.tags:
        assert tag in ALLOWED_TAGS, (tag, output)
        for name, value in attrs:
            assert name in SAFE_ATTRIBUTES or name.startswith("aria-"), (name, output)
            assert not name.startswith("on"), output
            if name == "src":
                assert tag == "img", output
                pattern = ROUTED_SRC_RE if routed else SRC_RE
                assert value is not None and pattern.fullmatch(value), (value, output)
            if name == "rel":
                assert tag == "a" and value == "noopener noreferrer", output
    lowered = output.lower()
    for needle in ("<script", "<style", "<iframe", "<svg", "<math", "<form", "<base", "<meta"):
        assert needle not in lowered, (needle, output)
    # Text may mention a scheme; no attribute may carry one.
    for _tag, attrs in found.tags:
        for _name, value in attrs:
            text = (value or "").lower()
            for scheme in ("javascript:", "data:", "file:", "vbscript:", CANARY_HOST):
                assert scheme not in text, (scheme, output)


def test_corpus_is_large_and_ids_unique() -> None:
    assert len(HOSTILE_FRAGMENTS) >= 60
    assert len(set(CASE_IDS)) == len(CASE_IDS)


@pytest.mark.parametrize(("case", "fragment"), HOSTILE_FRAGMENTS, ids=CASE_IDS)
def test_hostile_fragment_is_neutralised(case: str, fragment: str) -> None:
    output = sanitize_fragment(fragment)
    assert_harmless(output)
    # Sanitizing is idempotent: a second pass changes nothing.
    assert sanitize_fragment(output) == output


@pytest.mark.parametrize(("case", "fragment"), HOSTILE_FRAGMENTS, ids=CASE_IDS)
def test_hostile_fragment_is_harmless_after_rewrite(case: str, fragment: str) -> None:
    assert_harmless(prepare_widget_html(fragment, "inst-1"), routed=True)


def test_allowlisted_markup_survives() -> None:
    html = (
        '<section class="w-row"><header><h1 title="t">Title</h1></header>'
        '<article><h2>Sub</h2><h3>x</h3><p>para <span aria-label="n">span</span></p>'
        "<ul><li>a</li></ul><ol><li>b</li></ol>"
        "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>c</td></tr></tbody></table>"
        f'<figure><img src="mimolo://artifact/{TOKEN}" alt="shot"><figcaption>cap</figcaption>'
        "</figure></article><footer><div>f</div></footer></section>"
    )
    assert sanitize_fragment(html) == html


def test_links_keep_text_but_lose_href() -> None:
    assert sanitize_fragment('<a href="#x" title="t">jump</a>') == (
        '<a title="t" rel="noopener noreferrer">jump</a>'
    )


def test_scripts_are_removed_with_their_content() -> None:
    assert sanitize_fragment("<p>a</p><script>alert(1)</script><p>b</p>") == "<p>a</p><p>b</p>"


def test_unknown_tags_are_unwrapped_and_text_escaped() -> None:
    assert sanitize_fragment("<blink>hi</blink> 1 < 2") == "hi 1 &lt; 2"


def test_rewrite_points_img_at_the_instance_route() -> None:
    clean = sanitize_fragment(f'<img alt="a>b" src="mimolo://artifact/{TOKEN}">')
    assert rewrite_artifact_refs(clean, "inst-1") == (
        f'<img alt="a&gt;b" src="/artifacts/inst-1/{TOKEN}">'
    )
    assert artifact_tokens(clean) == [TOKEN]


def test_rewrite_leaves_text_that_looks_like_a_ref() -> None:
    clean = sanitize_fragment(f'<p>src="mimolo://artifact/{TOKEN}"</p>')
    assert rewrite_artifact_refs(clean, "inst-1") == clean
    assert artifact_tokens(clean) == []


def test_size_bound_applies_before_sanitizing() -> None:
    at_limit = "a" * MAX_FRAGMENT_BYTES
    assert check_fragment_size(at_limit) == MAX_FRAGMENT_BYTES
    with pytest.raises(WidgetError) as caught:
        sanitize_fragment(at_limit + "é")
    assert caught.value.code == "render_payload_too_large"
    # Multi-byte characters count as bytes, not characters.
    with pytest.raises(WidgetError):
        check_fragment_size("é" * (MAX_FRAGMENT_BYTES // 2 + 1))


def test_empty_and_plain_text_fragments() -> None:
    assert sanitize_fragment("") == ""
    assert sanitize_fragment("just text & more") == "just text &amp; more"
