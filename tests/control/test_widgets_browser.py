"""Widgets end to end in a real browser: agent → Operations → Control → Chromium.

The probe agents of ``_widget_stack`` render, per instance, the first hostile corpus (script
and URL tricks), an artifact image, an oversize frame, a traversing image reference, no
widget at all, or hang. The page carries canaries: no script may run, no request may leave
for a non-token URL, and the CSP must never have had to block anything (the sanitizer did
it). ``test_widget_isolation_browser`` covers the second corpus (dress-up and escapes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page

from protocol.hostile_fragments import CANARY_HOST, HOSTILE_FRAGMENTS

from ._live import DEADLINE_S, wait_for
from ._widget_stack import (
    FRAME_OF,
    Stack,
    canvas,
    marker,
    open_dashboard,
    reaches_page,
    wait_canvas_state,
    walk_corpus,
)

pytestmark = pytest.mark.browser

ALLOWED_TAGS = [
    *("div", "section", "article", "header", "footer", "h1", "h2", "h3", "p", "span"),
    *("ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"),
    *("figure", "figcaption", "img", "a"),
]

DOM_AUDIT = f"""([sel, allowedTags]) => {{
    const allowed = new Set(allowedTags);
    const bad = [];
    const frame = ({FRAME_OF})(sel);
    for (const el of frame.querySelectorAll("*")) {{
        const tag = el.tagName.toLowerCase();
        if (!allowed.has(tag)) bad.push("tag " + tag);
        for (const attr of el.attributes) {{
            const ok = ["class", "title", "alt", "src", "rel"].includes(attr.name)
                || attr.name.startsWith("aria-");
            if (!ok) bad.push("attr " + attr.name);
            if (attr.name === "src" && !attr.value.startsWith("/artifacts/")) {{
                bad.push("src " + attr.value);
            }}
        }}
    }}
    return bad;
}}"""


def test_hostile_corpus_renders_harmlessly_in_the_page(page: Page, stack: Stack) -> None:
    watch = open_dashboard(page, stack)
    title = page.title()

    def audit(case_id: str) -> None:
        assert page.evaluate(DOM_AUDIT, [canvas("probe-corpus"), ALLOWED_TAGS]) == [], case_id

    shown = walk_corpus(page, "probe-corpus", HOSTILE_FRAGMENTS, audit)
    assert sorted(shown) == sorted(c for c, html in HOSTILE_FRAGMENTS if reaches_page(html))
    assert len(shown) >= 60  # most of the corpus reaches the sanitizer and the page
    page.wait_for_timeout(500)  # let anything that might fire (onerror, timers) fire
    assert page.evaluate("() => window.__pwned") == "untouched"
    assert page.title() == title
    assert watch.foreign_requests() == []
    assert not any(CANARY_HOST in url for url in watch.requests)
    assert watch.csp_reports() == []

    # Each Refresh was a widget action that flushed a summary into the evidence at once.
    def summaries() -> int:
        path = stack.root.evidence_file(datetime.now(UTC).date())
        if not path.exists():
            return 0
        lines = path.read_text().splitlines()
        return sum(1 for line in lines if '"instance_id":"probe-corpus"' in line)

    wait_for(lambda: summaries() >= len(HOSTILE_FRAGMENTS) - 1, "refresh summaries in evidence")


def _fetch(page: Page, url: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """async (url) => {
            const r = await fetch(url, {credentials: "same-origin"});
            const type = r.headers.get("content-type") || "";
            const body = type.startsWith("image/") ? "" : await r.text();
            return {status: r.status, type, body, csp: r.headers.get("content-security-policy")};
        }""",
        url,
    )
    return result


def _fresh_image_src(page: Page) -> str:
    data = page.evaluate(
        """async () => {
            const r = await fetch("/api/widgets/probe-image/render?force=1", {
                credentials: "same-origin", headers: {Accept: "application/json"}});
            return await r.json();
        }"""
    )
    assert data["ok"], data
    html: str = data["html"]
    return html.split('src="')[1].split('"')[0]


def test_artifact_images_travel_only_as_scoped_expiring_tokens(page: Page, stack: Stack) -> None:
    watch = open_dashboard(page, stack)
    wait_canvas_state(page, "probe-image", "ok")
    page.wait_for_function(
        f"(sel) => {{ const i = ({FRAME_OF})(sel).querySelector('img');"
        " return i && i.complete && i.naturalWidth === 24; }",
        arg=canvas("probe-image"),
        timeout=DEADLINE_S * 1000,
    )
    src = _fresh_image_src(page)
    assert src.startswith("/artifacts/probe-image/")
    token = src.rsplit("/", 1)[1]
    served = _fetch(page, src)
    assert served["status"] == 200 and served["type"] == "image/png"
    assert "sandbox" in served["csp"]

    foreign = _fetch(page, f"/artifacts/probe-corpus/{token}")
    assert (foreign["status"], foreign["body"]) == (404, "artifact_scope_mismatch")
    unknown = _fetch(page, "/artifacts/probe-image/" + "A" * 32)
    assert (unknown["status"], unknown["body"]) == (404, "artifact_token_unknown")
    assert _fetch(page, "/artifacts/probe-image/..%2F..%2Fops.lock")["status"] == 404
    assert _fetch(page, "/artifacts/..%2Foperations/" + token)["status"] == 404

    deadline = time.monotonic() + DEADLINE_S
    expired = served
    while time.monotonic() < deadline:
        expired = _fetch(page, src)
        if expired["status"] != 200:
            break
        page.wait_for_timeout(500)
    assert (expired["status"], expired["body"]) == (404, "artifact_token_expired")

    # Without the session cookie, a live token is worthless.
    fresh = _fresh_image_src(page)
    with stack.control.client(signed_in=False) as anonymous:
        assert anonymous.get(fresh).status_code == 401
    artifact_requests = [u for u in watch.requests if "/artifacts/" in u]
    assert artifact_requests and all(
        u.startswith(f"{stack.control.base}/artifacts/") for u in artifact_requests
    )
    assert watch.foreign_requests() == []


@pytest.mark.parametrize(
    ("instance_id", "code"),
    [
        ("probe-oversize", "render_payload_too_large"),
        ("probe-traversal", "render_validation_failed"),
        ("probe-none", "widget_not_supported"),
    ],
)
def test_refused_frames_show_their_code_in_the_canvas(
    page: Page, stack: Stack, instance_id: str, code: str
) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, instance_id, "error", code)
    text = page.locator(f"{canvas(instance_id)} [data-widget-body]").text_content() or ""
    assert code in text
    # The failure stays inside its canvas: the rest of the dashboard is intact.
    wait_canvas_state(page, "probe-image", "ok")
    assert page.locator("#cards article.card").count() == len(stack.behaviours)


def test_hung_agent_times_out_while_the_dashboard_keeps_working(page: Page, stack: Stack) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, "probe-hang", "error", "render_timeout")
    # Other canvases still answer, and their manual refresh still works.
    wait_canvas_state(page, "probe-corpus", "ok")
    before = marker(page, "probe-corpus")
    page.locator(f"{canvas('probe-corpus')} [data-widget-refresh]").click()
    page.wait_for_function(
        f"""([sel, before]) => {{
            const m = ({FRAME_OF})(sel).querySelector("[title=probe-marker]");
            return m && m.textContent !== before;
        }}""",
        arg=[canvas("probe-corpus"), before],
        timeout=DEADLINE_S * 1000,
    )
    # The cards region keeps updating around the canvases (the canvas survives swaps).
    count = len(stack.behaviours)
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-widget-canvas]').length === n", arg=count
    )
    assert page.locator("[data-widget-slot] [data-widget-canvas]").count() == count


def test_pause_and_play_toggle_auto_refresh(page: Page, stack: Stack) -> None:
    open_dashboard(page, stack)
    wait_canvas_state(page, "probe-image", "ok")
    root = page.locator(canvas("probe-image"))
    toggle = root.locator("[data-widget-toggle]")
    assert root.get_attribute("data-widget-playing") == "true"
    toggle.click()
    assert root.get_attribute("data-widget-playing") == "false"
    assert toggle.text_content() == "Play"
    toggle.click()
    assert root.get_attribute("data-widget-playing") == "true"
    assert toggle.text_content() == "Pause"
