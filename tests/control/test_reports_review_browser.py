"""In Chromium, against a real Operations and evidence written by the test: the Reports
form offers the known clients and projects (not free text), names its zone, and an
invoice is a draft (nothing recorded) unless issued (numbered, locked, printed from the
locked entry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from mimolo.dataroot import DataRoot
from mimolo.timeline.review_io import read_invoices

from ._live import LiveControl, OpsProcess
from ._review_stack import DAY, open_signed_in, review_ops

pytestmark = pytest.mark.browser

REPORT_MS = 90_000


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with review_ops(data_root) as process:
        yield process


@pytest.fixture
def reports(page: Page, control: LiveControl, ops: OpsProcess) -> Page:
    open_signed_in(page, control, "/reports")
    return page


def pdf_text(page: Page) -> str:
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=REPORT_MS)
    with page.expect_download() as info:
        link.click()
    return "".join(p.extract_text() for p in PdfReader(info.value.path()).pages)


def fill_invoice(page: Page, client: str) -> None:
    page.get_by_label("From").fill(DAY.isoformat())
    page.get_by_label("To (inclusive)").fill(DAY.isoformat())
    page.get_by_label("Report type").select_option("invoice-pdf")
    page.get_by_label("Client").select_option(client)


def test_known_clients_and_projects_are_offered(reports: Page) -> None:
    options = reports.locator("#r-client option")
    assert options.evaluate_all("(els) => els.map((e) => e.value)") == ["", "acme", "globex"]
    assert reports.locator("#r-client").evaluate("(el) => el.tagName") == "SELECT"
    projects = reports.locator("#r-project option")
    assert projects.evaluate_all("(els) => els.map((e) => e.value)") == ["", "redesign"]
    expect(reports.locator("#reports-zone")).to_have_text("Europe/Berlin")
    expect(reports.get_by_label("Draft")).to_be_checked()


def test_a_draft_records_nothing(reports: Page, data_root: DataRoot) -> None:
    fill_invoice(reports, "acme")
    reports.get_by_role("button", name="Generate").click()
    text = pdf_text(reports)
    assert "acme" in text.lower()
    assert "draft" in text.lower()
    assert read_invoices(data_root) == []


def test_a_project_needs_its_client(reports: Page, data_root: DataRoot) -> None:
    reports.get_by_label("Report type").select_option("timecard-md")
    reports.get_by_label("Project").select_option("redesign")
    reports.get_by_role("button", name="Generate").click()
    error = reports.locator('[data-error-for="project"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("client")


def test_issue_numbers_locks_and_prints_the_locked_entry(
    reports: Page, data_root: DataRoot, control: LiveControl
) -> None:
    fill_invoice(reports, "acme")
    reports.get_by_label("Issue").check()
    reports.get_by_role("button", name="Generate").click()
    text = pdf_text(reports)
    issued = [e for e in read_invoices(data_root) if e.kind == "issued"]
    assert len(issued) == 1
    entry = issued[0]
    assert entry.client_id == "acme" and entry.figures is not None
    assert entry.number in text
    assert entry.figures.rate == "100"  # acme's rate from the billing settings

    reports.goto(f"{control.base}/timeline?date={DAY.isoformat()}")
    expect(reports.locator("li[data-lock]")).to_contain_text(f"Invoice {entry.number} bills acme")

    # issuing the same period again is refused by Operations, next to the form
    reports.goto(f"{control.base}/reports")
    fill_invoice(reports, "acme")
    reports.get_by_label("Issue").check()
    reports.get_by_role("button", name="Generate").click()
    refusal = reports.locator(
        "form[data-report] .field-error:visible, form[data-report] .form-error:visible"
    )
    expect(refusal.first).to_contain_text(entry.number)
    assert len([e for e in read_invoices(data_root) if e.kind == "issued"]) == 1
