"""The checker's widget row: fragments Control's sanitizer would change are flagged."""

from __future__ import annotations

import pytest

from mimolo.sdk.conformance import run_check, stripped_markup
from sdk.corpus import BROKEN, PATIENT, script


@pytest.mark.parametrize(
    ("html", "removed"),
    [
        ('<div class="w-row"><p>ok</p></div>', []),
        ('<div class="toast"><p>x</p></div>', ["div[class]"]),
        ("<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>", []),
        ("<p>it&#x27;s &amp; fine</p>", []),
        ('<img src="mimolo://artifact/abcdefghijklmnopqrstuvwxyz" alt="shot">', []),
        ("<script>alert(1)</script><p>x</p>", ["<script>"]),
        ('<p style="color:red">x</p>', ["p[style]"]),
        ('<div onclick="x()">x</div>', ["div[onclick]"]),
        ('<img src="file:///etc/passwd">', ["img[src]"]),
        ('<a href="https://example.com">x</a>', ["a[href]"]),
        ('<iframe src="x"></iframe><form><input></form>', ["<form>", "<iframe>", "<input>"]),
    ],
)
def test_stripped_markup(html: str, removed: list[str]) -> None:
    got = stripped_markup(html)
    for name in removed:
        assert name in got
    if not removed:
        assert got == []


@pytest.mark.slow
def test_an_unsafe_widget_is_a_warning() -> None:
    report = run_check(script(BROKEN / "unsafe_widget.py"), PATIENT)
    row = report.row("widget")
    assert row.result == "WARN", report.rows
    assert "<script>" in row.detail and "div[onclick]" in row.detail
    assert report.passed
