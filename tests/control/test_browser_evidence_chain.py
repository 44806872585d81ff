"""In Chromium: the Evidence view's chain status per day, and evidence packs in Reports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from evidence._packs import DAY0, write_mixed_ledger
from mimolo.dataroot import DataRoot
from mimolo.evidence.verify_pack import verify_pack

from ._live import LiveControl

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def ledger(data_root: DataRoot) -> None:
    write_mixed_ledger(data_root)  # 1..3 March 2026, signed, closed cleanly


def sign_in(page: Page, control: LiveControl, path: str) -> None:
    sep = "&" if "?" in path else "?"
    page.goto(f"{control.base}{path}{sep}token={control.auth.new_link_token()}")


def test_a_clean_day_is_verified_and_a_tampered_one_broken_at_its_line(
    page: Page, control: LiveControl
) -> None:
    sign_in(page, control, f"/evidence?date={DAY0.isoformat()}")
    status = page.locator("[data-chain]")
    expect(status).to_have_text("verified")
    path = control.root.evidence_file(DAY0)
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b'"testhost"', b'"testhosu"', 1)  # one byte of line 5
    path.write_bytes(b"\n".join(lines))
    page.reload()
    expect(status).to_have_text("broken at line 5")
    expect(page.locator(".chain-status")).to_contain_text("edited")
    sign_in(page, control, "/evidence?date=2020-01-01")
    expect(page.locator("[data-chain]")).to_have_text("No ledger file for this day.")


def test_the_reports_view_offers_and_downloads_a_pack_for_an_invoice(
    page: Page, control: LiveControl, tmp_path: Path
) -> None:
    first, last = DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)
    sign_in(page, control, "/reports")
    page.get_by_label("From").fill(first.isoformat())
    page.get_by_label("To (inclusive)").fill(last.isoformat())
    page.get_by_label("Report type").select_option("invoice-pdf")
    page.get_by_label("Client").select_option("acme")
    page.get_by_label("Hourly rate").fill("92.50")
    page.get_by_role("button", name="Generate").click()
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=90_000)
    name = f"invoice-acme-{first:%Y%m%d}-{last:%Y%m%d}"
    offer = page.locator(f'form[data-pack-for="{name}.pdf"] button')
    expect(offer).to_have_text("Evidence pack", timeout=30_000)
    offer.click()
    expect(link).to_have_text(f"Download {name}.evidence.zip", timeout=90_000)
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    outcome = verify_pack(saved)
    assert outcome.ok, outcome.problems
    assert outcome.figures["hours"] == "2.00" and outcome.figures["amount"] == "185.00"
    # a pack is not itself offered a pack
    expect(page.locator(f'form[data-pack-for="{name}.evidence.zip"]')).to_have_count(0)
