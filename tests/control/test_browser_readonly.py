"""In Chromium, with Operations down: sign-in, refusals, banner, evidence, timeline, reports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from mimolo.control.timeline_source import load_timeline
from mimolo.dataroot import DataRoot
from mimolo.timeline.demo import DemoSpec, write_demo

from ._live import LiveControl

pytestmark = pytest.mark.browser

DEMO_END = date(2026, 3, 6)  # a Friday; the demo covers Mon 2 .. Fri 6 March
DEMO_DAY = "2026-03-04"


@pytest.fixture(scope="module", autouse=True)
def demo(data_root: DataRoot) -> None:
    write_demo(data_root, DemoSpec(days=5, seed=11, end=DEMO_END))


def sign_in(page: Page, control: LiveControl, path: str = "/") -> None:
    sep = "&" if "?" in path else "?"
    page.goto(f"{control.base}{path}{sep}token={control.auth.new_link_token()}")
    assert "token=" not in page.url


@pytest.mark.parametrize(
    "path", ["/", "/logs", "/evidence", "/timeline", "/reports", "/fragments/cards"]
)
def test_without_the_token_every_page_is_refused(
    page: Page, control: LiveControl, path: str
) -> None:
    response = page.goto(control.base + path)
    assert response is not None and response.status == 401
    assert "Agents" not in page.content()


def test_signing_in_strips_the_token_and_shows_the_banner(page: Page, control: LiveControl) -> None:
    sign_in(page, control)
    assert page.url == control.base + "/"
    expect(page.locator("#ops-banner")).to_be_visible()
    expect(page.locator("#ops-banner")).to_contain_text("Operations is unavailable")
    for button in page.locator("button[data-requires-ops]").all():
        expect(button).to_be_disabled()


def test_evidence_viewer_shows_raw_records_and_filters_to_active(
    page: Page, control: LiveControl
) -> None:
    sign_in(page, control, f"/evidence?date={DEMO_DAY}&from=09:00&to=10:30")
    records = page.locator("[data-record]")
    expect(records.first).to_be_visible()
    expect(page.locator("#raw-title")).not_to_contain_text("more not shown")  # one page
    total = records.count()
    passive = page.locator('[data-record][data-active="false"]').count()
    assert passive > 0 and total > passive
    first_raw = page.locator("pre.raw").first.inner_text()
    assert first_raw.startswith('{"seq":') and '"record":{"type":"summary"' in first_raw
    expect(page.locator("#derived-title")).to_contain_text("derived")
    assert page.locator("[data-segment]").count() > 0

    page.get_by_label("Active signals only").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**active=1**")
    expect(page.locator('[data-record][data-active="false"]')).to_have_count(0)
    assert page.locator('[data-record][data-active="true"]').count() == total - passive


def test_evidence_viewer_warns_about_a_torn_line(page: Page, control: LiveControl) -> None:
    path = control.root.evidence_file(date(2026, 3, 5))
    with open(path, "ab") as handle:
        handle.write(b'{"seq": 999999, "id": "torn", "rec')
    sign_in(page, control, "/evidence?date=2026-03-05&from=16:00")  # one page with it
    warning = page.locator('[data-warning="torn_line"]')
    expect(warning).to_have_count(1)
    expect(page.locator('[data-record][data-torn="true"] pre')).to_contain_text('"id": "torn"')


def test_timeline_day_view_shows_the_demo_segments(page: Page, control: LiveControl) -> None:
    start = datetime(2026, 3, 4, tzinfo=UTC)
    expected = load_timeline(control.root, start, start + timedelta(days=1)).timeline
    assert expected.segments
    sign_in(page, control, f"/timeline?date={DEMO_DAY}")
    bars = page.locator("svg.timeline-svg rect.seg")
    # group by client: a segment appears once per client lane
    assert bars.count() == sum(max(1, len(s.client_ids)) for s in expected.segments)
    for client in expected.per_client:
        expect(page.locator(f'tr[data-client="{client}"]')).to_be_visible()

    page.get_by_label("Week").check()
    page.get_by_label("Per instance").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**view=week**")
    expect(page.locator("svg.timeline-svg text.tick-label")).to_have_count(7)
    assert page.locator("svg.timeline-svg g.lane").count() >= 3  # the three folder instances


def test_a_csv_report_is_generated_and_downloads(page: Page, control: LiveControl) -> None:
    sign_in(page, control, "/reports")
    page.get_by_label("From").fill("2026-03-02")
    page.get_by_label("To (inclusive)").fill("2026-03-06")
    page.get_by_label("Report type").select_option("csv")
    page.get_by_role("button", name="Generate").click()
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        link.click()
    download = info.value
    saved = download.path()
    text = Path(saved).read_text()
    assert download.suggested_filename.endswith(".csv")
    assert "acme" in text and len(text.splitlines()) > 3
    recent = page.locator("#recent-reports")
    expect(recent).to_contain_text(download.suggested_filename)


def test_an_invoice_pdf_downloads_and_parses(page: Page, control: LiveControl) -> None:
    sign_in(page, control, "/reports")
    page.get_by_label("From").fill("2026-03-02")
    page.get_by_label("To (inclusive)").fill("2026-03-06")
    page.get_by_label("Report type").select_option("invoice-pdf")
    page.get_by_label("Client").select_option("acme")
    page.get_by_label("Hourly rate").fill("90")
    page.get_by_role("button", name="Generate").click()
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=90_000)
    with page.expect_download() as info:
        link.click()
    reader = PdfReader(info.value.path())
    assert len(reader.pages) >= 1
    assert "acme" in "".join(p.extract_text() for p in reader.pages).lower()


def test_a_bad_report_form_shows_the_error_by_its_field(page: Page, control: LiveControl) -> None:
    sign_in(page, control, "/reports")
    page.get_by_label("Report type").select_option("invoice-pdf")
    page.get_by_role("button", name="Generate").click()
    error = page.locator('[data-error-for="client"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("one client")


class _Attacker(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><form id=f method=post action="
            f'"{self.target}/api/monitors/stop"><input name=x value=1></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def attacker(control: LiveControl) -> Iterator[str]:
    handler = type("Attacker", (_Attacker,), {"target": control.base})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_cross_site_post_from_another_origin_is_refused(
    page: Page, control: LiveControl, attacker: str
) -> None:
    sign_in(page, control)  # the victim has a session cookie
    with page.expect_response(lambda r: r.url.endswith("/api/monitors/stop")) as info:
        page.goto(attacker)
    response = info.value
    assert response.status == 403
    assert response.json()["error"] == "cross-site_request_refused"
