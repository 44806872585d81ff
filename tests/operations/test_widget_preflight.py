"""Frame preflight (widget_preflight): bounds and artifact references on the sanitizer's parse."""

from __future__ import annotations

import pytest

from mimolo.errors import WidgetError
from mimolo.operations.widget_preflight import MAX_FRAME_BYTES, exchange_refs, preflight_frame


def test_preflight_counts_and_collects_refs() -> None:
    html = (
        '<img src="mimolo://artifact/a/b.png"><img src="mimolo://artifact/a/b.png">'
        "<table><tr><td>1</td></tr><tr><td>2</td></tr></table>"
    )
    checked = preflight_frame(html)
    assert (checked.images, checked.rows, checked.artifact_refs) == (2, 2, ("a/b.png",))
    assert checked.bytes == len(html)
    # What it counted is the sanitizer's output (the parse Control shows).
    assert checked.html.count("<tr>") == 2 and "<tbody>" in checked.html


def test_preflight_counts_rows_as_the_html5_parser_sees_them() -> None:
    # html.parser reads <svg><style> as raw text; an HTML5 parser breaks out of the SVG at
    # <table> and shows every row.
    rows = "<tr><td>x</td></tr>" * 1500
    with pytest.raises(WidgetError) as caught:
        preflight_frame(f"<svg><style><table>{rows}</table>")
    assert caught.value.code == "render_validation_failed"
    assert "1500 table rows" in caught.value.message


def test_preflight_refuses_oversize_with_code() -> None:
    with pytest.raises(WidgetError) as caught:
        preflight_frame("x" * (MAX_FRAME_BYTES + 1))
    assert caught.value.code == "render_payload_too_large"
    assert preflight_frame("x" * MAX_FRAME_BYTES).bytes == MAX_FRAME_BYTES


@pytest.mark.parametrize(
    "html",
    [
        '<img src="http://example.invalid/a.png">',
        '<img src="data:image/png;base64,AAAA">',
        '<img src="/etc/passwd">',
        '<img src="mimolo://artifact/a b.png">',
        '<img src="mimolo://artifact/">',
        '<img src="file:///etc/passwd">',
        '<img src="MIMOLO://artifact/a.png">',
        "<img>",
        "<table>" + "<tr></tr>" * 1001 + "</table>",
        '<img src="mimolo://artifact/a.png">' * 33,
    ],
)
def test_preflight_refuses_bad_frames(html: str) -> None:
    with pytest.raises(WidgetError) as caught:
        preflight_frame(html)
    assert caught.value.code == "render_validation_failed"


def test_exchange_refs_replaces_only_known_refs() -> None:
    html = '<img src="mimolo://artifact/a.png"><img src="mimolo://artifact/a.png.png">'
    assert exchange_refs(html, {"a.png": "TOK"}) == (
        '<img src="mimolo://artifact/TOK"><img src="mimolo://artifact/a.png.png">'
    )
