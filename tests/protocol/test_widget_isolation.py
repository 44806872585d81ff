"""Widgets cannot dress up as Control, and Operations and Control count on one parse.

The sanitizer keeps only the documented ``w-…`` classes, ``aria-live`` only as ``polite``,
and no bidirectional control characters; the bounds are counted on its output, by the one
function Operations' preflight and Control's render both call.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mimolo.errors import WidgetError
from mimolo.operations.widget_preflight import exchange_refs, preflight_frame
from mimolo.protocol.widget_html import (
    BIDI_CONTROLS,
    MAX_FRAGMENT_BYTES,
    MAX_IMAGES,
    MAX_TABLE_ROWS,
    WIDGET_CLASSES,
    clean_fragment,
    prepare_widget_html,
    sanitize_fragment,
)

from .hostile_fragments import HOSTILE_FRAGMENTS, TOKEN
from .hostile_widgets import CASE_IDS, HOSTILE_WIDGETS, largest_widget
from .test_widget_html import assert_harmless

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "mimolo" / "control" / "static"
REF = "mimolo://artifact/shots/latest.png"


class _Attributes(HTMLParser):
    """Every (tag, attribute, value) and every text run of a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Attributes:
    parser = _Attributes()
    parser.feed(html)
    parser.close()
    return parser


def assert_no_dress_up(output: str) -> None:
    """Only widget classes, only a polite live region, no bidi controls, no ids or names."""
    found = parsed(output)
    for tag, name, value in found.attributes:
        if name == "class":
            assert value and set(value.split(" ")) <= WIDGET_CLASSES, (tag, value)
            assert value == value.strip() and "  " not in value, value
        assert name not in ("id", "name", "style", "role", "hidden"), (tag, name)
        if name == "aria-live":
            assert value == "polite", value
        assert not set(value) & set(BIDI_CONTROLS), (tag, name, value)
    assert not set("".join(found.text)) & set(BIDI_CONTROLS), output


def app_css_classes() -> set[str]:
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    return set(re.findall(r"\.([a-zA-Z][\w-]*)", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))


@pytest.mark.parametrize(("case", "fragment"), HOSTILE_WIDGETS, ids=CASE_IDS)
def test_hostile_widget_is_neutralised(case: str, fragment: str) -> None:
    output = sanitize_fragment(fragment)
    assert_harmless(output)
    assert_no_dress_up(output)
    assert sanitize_fragment(output) == output  # idempotent


@pytest.mark.parametrize(("case", "fragment"), HOSTILE_FRAGMENTS + HOSTILE_WIDGETS)
def test_operations_and_control_count_the_same(case: str, fragment: str) -> None:
    """What Operations forwards, Control parses to the same images and rows."""
    try:
        checked = preflight_frame(fragment)
    except WidgetError:
        return  # refused by Operations: nothing reaches Control
    forwarded = exchange_refs(checked.html, dict.fromkeys(checked.artifact_refs, TOKEN))
    shown = clean_fragment(forwarded)
    assert (shown.images, shown.rows) == (checked.images, checked.rows), case


def test_every_class_of_the_page_is_stripped() -> None:
    classes = app_css_classes()
    assert {"toast", "skip-link", "button", "banner", "card", "badge"} <= classes
    html = "".join(f'<div class="{name}">{name}</div>' for name in sorted(classes))
    assert "class=" not in sanitize_fragment(html)


def test_widget_classes_survive_and_others_go() -> None:
    assert sanitize_fragment('<p class="w-muted toast w-small W-OK">x</p>') == (
        '<p class="w-muted w-small">x</p>'
    )
    assert sanitize_fragment('<span class="toast">x</span>') == "<span>x</span>"
    assert all(name.startswith("w-") for name in WIDGET_CLASSES)


def test_the_widget_stylesheet_styles_exactly_the_documented_classes() -> None:
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    styled = set(re.findall(r"\.(w-[\w-]+)", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    assert styled - {"w-frame"} == WIDGET_CLASSES
    assert "w-frame" not in WIDGET_CLASSES  # Control's wrapper: agents cannot set it
    docs = (ROOT / "docs" / "widgets.md").read_text(encoding="utf-8")
    for name in WIDGET_CLASSES:
        assert f"`{name}`" in docs, name
    # The widget stylesheet positions nothing and imports nothing.
    assert "position" not in css and "@import" not in css and "url(" not in css


def test_aria_live_is_polite_or_nothing() -> None:
    assert sanitize_fragment('<p aria-live="assertive">x</p>') == "<p>x</p>"
    assert sanitize_fragment('<p aria-live=" POLITE ">x</p>') == '<p aria-live="polite">x</p>'
    assert sanitize_fragment('<p aria-label="n" aria-live="off">x</p>') == '<p aria-label="n">x</p>'


def test_bidi_controls_are_removed_from_text_and_attributes() -> None:
    html = '<p title="a\u202eb">x\u2066y\u2069 &#x202E;z &#x200F;</p><img alt="&#8238;q">'
    assert sanitize_fragment(html) == '<p title="ab">xy z </p><img alt="q">'
    for char in BIDI_CONTROLS:
        assert sanitize_fragment(f"<p>{char}</p>") == "<p></p>"


def test_the_svg_style_row_bomb_is_refused_on_both_sides() -> None:
    bomb = "<svg><style><table>" + "<tr><td>x</td></tr>" * 1500 + "</table>"
    for check in (lambda: preflight_frame(bomb), lambda: prepare_widget_html(bomb, "inst-1")):
        with pytest.raises(WidgetError) as caught:
            check()
        assert caught.value.code == "render_validation_failed"
        assert "1500 table rows" in caught.value.message


@pytest.mark.parametrize(
    "wrapper",
    [
        "<svg><style><table>{}</table>",
        "<svg><p><table>{}</table>",
        "<noscript></noscript><table>{}</table>",
        "<xmp></xmp><table>{}</table>",
        "<p><table>{}</table>",
        "<table><tbody>{}</tbody></table>",
    ],
)
def test_rows_are_counted_as_an_html5_parser_builds_them(wrapper: str) -> None:
    at_limit = wrapper.format("<tr><td>x</td></tr>" * MAX_TABLE_ROWS)
    assert clean_fragment(at_limit).rows == MAX_TABLE_ROWS
    over = wrapper.format("<tr><td>x</td></tr>" * (MAX_TABLE_ROWS + 1))
    with pytest.raises(WidgetError):
        clean_fragment(over)


def test_images_are_counted_on_the_output() -> None:
    img = f'<img src="mimolo://artifact/{TOKEN}">'
    assert clean_fragment(img * MAX_IMAGES).images == MAX_IMAGES
    with pytest.raises(WidgetError):
        clean_fragment(img * (MAX_IMAGES + 1))
    # An image hidden from html.parser by <svg><style> is still an image to HTML5.
    with pytest.raises(WidgetError):
        clean_fragment("<svg><style><p>" + img * (MAX_IMAGES + 1))


def test_the_largest_widget_passes_both_sides_at_every_bound() -> None:
    html = largest_widget(REF)
    size = len(html.encode("utf-8"))
    assert MAX_FRAGMENT_BYTES - 2048 < size <= MAX_FRAGMENT_BYTES
    checked = preflight_frame(html)
    assert (checked.images, checked.rows) == (32, 1000)
    assert checked.artifact_refs == ("shots/latest.png",)
    forwarded = exchange_refs(checked.html, {"shots/latest.png": TOKEN})
    assert len(forwarded.encode("utf-8")) <= MAX_FRAGMENT_BYTES
    shown = prepare_widget_html(forwarded, "inst-1")
    assert shown.count('src="/artifacts/inst-1/') == 32 and shown.count("<tr>") == 1000
    used = set(" ".join(re.findall(r'class="([^"]*)"', shown)).split())
    assert used == WIDGET_CLASSES


def test_operations_forwards_the_sanitized_html_with_tokens_in_img_src_only() -> None:
    html = f'<p>{REF}</p><img src="{REF}" class="toast w-ok"><p title="{REF}">t</p>'
    checked = preflight_frame(html)
    forwarded = exchange_refs(checked.html, {"shots/latest.png": TOKEN})
    assert forwarded == (
        f'<p>{REF}</p><img src="mimolo://artifact/{TOKEN}" class="w-ok"><p title="{REF}">t</p>'
    )
