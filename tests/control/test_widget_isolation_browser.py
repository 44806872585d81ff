"""Widgets cannot dress up as Control or escape their slot, in Chromium, on the real path.

The second corpus (``protocol.hostile_widgets``: Control's own classes, layout escapes,
parser differentials, DOM clobbering, artifact-token tricks, bidi text, noisy live regions,
OWASP evasions) goes agent → Operations → Control → Chromium one case per Refresh. For
every case that reaches the page: only widget classes, no bidi controls, a polite live
region at most, nothing positioned, every box inside the slot, no point outside the slot
hits the widget, and every dashboard button still receives the click at its centre. Then a
dashboard with the largest allowed widget (64 KiB, 32 images, 1,000 rows) in every slot
must still be usable: the widgets clip and scroll, and every button can be clicked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from mimolo.protocol.widget_html import BIDI_CONTROLS, WIDGET_CLASSES
from protocol.hostile_fragments import CANARY_HOST
from protocol.hostile_widgets import HOSTILE_WIDGETS

from ._live import DEADLINE_S
from ._widget_stack import (
    FRAME_OF,
    Stack,
    canvas,
    open_dashboard,
    reaches_page,
    wait_canvas_state,
    walk_corpus,
    widget_stack,
)

pytestmark = pytest.mark.browser

LARGEST = {f"probe-large-{n}": "largest" for n in range(1, 5)}

# Everything Control must still be after a widget rendered: the JS returns a list of
# problems (empty when all is well).
ISOLATION_AUDIT = f"""([sel, widgetClasses, bidi]) => {{
    const bad = [];
    const classes = new Set(widgetClasses);
    const root = document.querySelector(sel);
    root.scrollIntoView({{block: "center"}});
    const slot = root.closest("[data-widget-slot]");
    const view = root.querySelector("[data-widget-view]");
    const frame = ({FRAME_OF})(sel);
    const box = (el) => el.getBoundingClientRect();
    const inside = (r, o) => r.left >= o.left - 1 && r.top >= o.top - 1
        && r.right <= o.right + 1 && r.bottom <= o.bottom + 1;
    const s = box(slot), v = box(view);
    if (!inside(v, s)) bad.push("the view is outside its slot");
    const viewStyle = getComputedStyle(view);
    if (!viewStyle.contain.includes("paint") && viewStyle.contain !== "content"
        && viewStyle.contain !== "strict") bad.push("the view does not contain paint");
    if (viewStyle.overflowX === "visible" || viewStyle.overflowY === "visible") {{
        bad.push("the view does not clip");
    }}
    const overflowing = view.scrollWidth > view.clientWidth + 1
        || view.scrollHeight > view.clientHeight + 1;
    const hasBidi = (text) => [...text].some((c) => bidi.includes(c));
    if (hasBidi(frame.textContent)) bad.push("bidi control in text");
    for (const el of frame.querySelectorAll("*")) {{
        const tag = el.tagName.toLowerCase();
        for (const name of el.classList) {{
            if (!classes.has(name)) bad.push(`class ${{name}} on ${{tag}}`);
        }}
        for (const attr of el.attributes) {{
            if (["id", "name", "style", "role", "hidden"].includes(attr.name)) {{
                bad.push(`attribute ${{attr.name}} on ${{tag}}`);
            }}
            if (attr.name === "aria-live" && attr.value !== "polite") bad.push("aria-live");
            if (hasBidi(attr.value)) bad.push(`bidi control in ${{attr.name}}`);
        }}
        const position = getComputedStyle(el).position;
        if (position !== "static") bad.push(`${{tag}} is position: ${{position}}`);
        const r = box(el);
        if (!overflowing && (r.width || r.height) && !inside(r, v)) {{
            bad.push(`${{tag}} is drawn outside the slot`);
        }}
    }}
    // No point of the viewport outside the view lands on the widget.
    for (let x = 3; x < innerWidth; x += 37) {{
        for (let y = 3; y < innerHeight; y += 37) {{
            const within = x >= v.left && x <= v.right && y >= v.top && y <= v.bottom;
            if (!within && document.elementFromPoint(x, y) === view) {{
                bad.push(`the widget is hit at ${{x}},${{y}} outside its slot`);
            }}
        }}
    }}
    // Every visible dashboard button receives a click at its centre.
    for (const button of document.querySelectorAll("button, a.button")) {{
        const r = box(button);
        if (!r.width || r.top < 0 || r.bottom > innerHeight) continue;
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!button.contains(hit)) bad.push(`button ${{button.textContent}} is covered`);
    }}
    if (document.querySelectorAll(".toast").length !== 1) bad.push("a second .toast");
    if (document.getElementById("toast").closest("[data-widget-view]")) bad.push("toast");
    return bad;
}}"""

PAGE_INTACT = """() => [
    window.__pwned, typeof window.csrf, typeof window.opsLink,
    document.querySelector('meta[name="csrf-token"]').content.length > 10,
]"""


@pytest.fixture(scope="module")
def largest() -> Iterator[Stack]:
    """A dashboard whose every slot holds the largest widget the bounds allow."""
    with widget_stack(LARGEST) as running:
        yield running


def test_second_corpus_cannot_dress_up_or_leave_its_slot(page: Page, stack: Stack) -> None:
    watch = open_dashboard(page, stack, first="probe-isolation")
    title = page.title()
    bidi = list(BIDI_CONTROLS)

    def audit(case_id: str) -> None:
        problems = page.evaluate(
            ISOLATION_AUDIT, [canvas("probe-isolation"), sorted(WIDGET_CLASSES), bidi]
        )
        assert problems == [], case_id

    shown = walk_corpus(page, "probe-isolation", HOSTILE_WIDGETS, audit)
    # Exactly the cases Operations' preflight lets through reached the page (the others,
    # images without a usable artifact reference, stopped there with their code).
    assert sorted(shown) == sorted(case for case, html in HOSTILE_WIDGETS if reaches_page(html))
    assert len(shown) >= 60
    page.wait_for_timeout(500)  # let anything that might fire (onerror, timers) fire
    assert page.evaluate(PAGE_INTACT) == ["untouched", "undefined", "undefined", True]
    assert page.title() == title
    assert watch.foreign_requests() == []
    assert not any(CANARY_HOST in url for url in watch.requests)
    assert watch.csp_reports() == []


def test_the_svg_style_row_bomb_is_refused_before_the_page(page: Page, stack: Stack) -> None:
    """Rows are counted as Chromium would build them: 1,500 rows over the 1,000 bound."""
    open_dashboard(page, stack, first="probe-rowbomb")
    wait_canvas_state(page, "probe-rowbomb", "error", "render_validation_failed")
    text = page.locator(f"{canvas('probe-rowbomb')} [data-widget-body]").text_content() or ""
    assert "1500 table rows" in text
    # What html.parser read as the text of a <style>, Chromium parses as a table.
    rows = "<tr><td>x</td></tr>" * 1500
    counted = page.evaluate(
        """(html) => {
            const div = document.createElement("div");
            div.innerHTML = html;
            return div.querySelectorAll("tr").length;
        }""",
        f"<svg><style><table>{rows}</table>",
    )
    assert counted == 1500  # an HTML5 parser does build every row (html.parser saw none)


def test_largest_widget_in_every_slot_keeps_the_dashboard_usable(
    page: Page, largest: Stack
) -> None:
    watch = open_dashboard(page, largest, first="probe-large-1")
    for instance_id in LARGEST:
        wait_canvas_state(page, instance_id, "ok")
    page.wait_for_function(
        f"""(ids) => ids.every((id) => {{
            const imgs = ({FRAME_OF})(`[data-widget-canvas='${{id}}']`).querySelectorAll("img");
            return imgs.length === 32 && [...imgs].every((i) => i.complete && i.naturalWidth);
        }})""",
        arg=list(LARGEST),
        timeout=DEADLINE_S * 1000,
    )
    layout = page.evaluate(
        f"""(ids) => ids.map((id) => {{
            const sel = `[data-widget-canvas='${{id}}']`;
            const root = document.querySelector(sel);
            const view = root.querySelector("[data-widget-view]");
            const slot = root.closest("[data-widget-slot]");
            const frame = ({FRAME_OF})(sel);
            const r = (el) => el.getBoundingClientRect();
            const inside = (a, b) => a.left >= b.left - 1 && a.top >= b.top - 1
                && a.right <= b.right + 1 && a.bottom <= b.bottom + 1;
            return {{
                rows: frame.querySelectorAll("tr").length,
                images: frame.querySelectorAll("img").length,
                scrolls: view.scrollHeight > view.clientHeight,
                viewInSlot: inside(r(view), r(slot)),
                slotInCard: inside(r(slot), r(root.closest("article"))),
                viewHeight: r(view).height,
            }};
        }})""",
        list(LARGEST),
    )
    for entry in layout:
        assert entry["rows"] == 1000 and entry["images"] == 32, entry
        assert entry["scrolls"] and entry["viewInSlot"] and entry["slotInCard"], entry
        assert entry["viewHeight"] <= 361, entry
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")

    # Every button on the dashboard receives a click where Playwright would click it.
    buttons = page.locator("main button, main a.button")
    assert buttons.count() >= 2 + 9 * len(LARGEST)
    for index in range(buttons.count()):
        button = buttons.nth(index)
        if button.is_enabled():
            button.click(trial=True, timeout=5_000)
    # And the widgets take no clicks outside their slots, wherever the page is scrolled.
    for instance_id in LARGEST:
        problems = page.evaluate(
            ISOLATION_AUDIT, [canvas(instance_id), sorted(WIDGET_CLASSES), list(BIDI_CONTROLS)]
        )
        assert problems == [], (instance_id, problems)

    # The clicks do what they say: Flush on a card, then Stop all (the button).
    card = page.locator('article[data-instance="probe-large-2"]')
    card.get_by_role("button", name="Flush", exact=True).click()
    flushed = "Flushed probe-large-2"
    expect(page.locator("#toast")).to_contain_text(flushed, timeout=DEADLINE_S * 1000)
    with page.expect_request(lambda r: r.url.endswith("/api/monitors/stop")) as stop:
        page.get_by_role("button", name="Stop all", exact=True).click()
    assert stop.value.method == "POST"
    assert watch.foreign_requests() == []
    assert watch.csp_reports() == []
