"""In Chromium, against a real Operations and evidence written by the test: review the day
on the timeline page. Drag-select a span and assign it (the segment shows the adjustment),
revoke it, exclude a span, add a manual entry, keep an idle gap, and a locked period shown
locked with its actions disabled (and refused by Operations when forced)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot
from mimolo.timeline.review_io import read_adjustments

from ._live import LiveControl, OpsProcess
from ._review_stack import DAY, TIMEOUT_MS, call, drag, local, open_signed_in, review_ops

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with review_ops(data_root) as process:
        yield process


@pytest.fixture
def day_page(page: Page, control: LiveControl, ops: OpsProcess) -> Page:
    open_signed_in(page, control, f"/timeline?date={DAY.isoformat()}")
    expect(page.locator("#review-chart")).to_be_visible()
    expect(page.locator("#sel-apply")).to_be_enabled(timeout=TIMEOUT_MS)
    return page


def kinds(root: DataRoot) -> list[str]:
    return [a.kind for a in read_adjustments(root)]


def test_the_day_is_a_local_day_named_by_its_zone(day_page: Page) -> None:
    expect(day_page.locator("#tl-zone")).to_have_text("Europe/Berlin")
    chart = day_page.locator("#review-chart")
    assert chart.get_attribute("data-start") == local(0).isoformat()
    expect(chart.locator("text.tick-label").first).to_have_text("00:00")
    rows = day_page.locator("tr[data-segment]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(f"{DAY.isoformat()} 09:00")
    expect(day_page.locator("li.gap")).to_have_count(1)
    expect(day_page.locator("li.gap")).to_contain_text("10:00\u201311:00")


def test_drag_assign_to_a_client_then_revoke(day_page: Page, data_root: DataRoot) -> None:
    page = day_page
    drag(page, local(9, 15), local(9, 45))
    start = page.locator("#sel-start")
    assert start.input_value().startswith(f"{DAY.isoformat()}T09:1")
    assert page.locator("#sel-end").input_value().startswith(f"{DAY.isoformat()}T09:4")
    expect(page.locator("#review-selection")).to_have_attribute("visibility", "visible")
    page.locator("#sel-client").select_option("globex")
    page.locator("#sel-project").fill("redesign")
    page.locator("#sel-reason").fill("this was the globex workshop")
    page.locator("#sel-apply").click()
    expect(page.locator("#toast")).to_contain_text("Assigned")
    globex = page.locator('tr[data-segment][data-seg-client="globex"]')
    expect(globex).to_have_count(1, timeout=TIMEOUT_MS)
    expect(globex).to_contain_text("globex / redesign")
    expect(globex.locator("a.badge-adjusted")).to_have_text("Assigned")
    expect(page.locator("#review-chart rect.seg-adjusted")).to_have_count(1)
    expect(page.locator('tr[data-client="globex"] td.num').first).to_be_visible()
    entry = page.locator('li.adjustment[data-kind="assign_range"]').first
    expect(entry).to_contain_text("globex / redesign")
    expect(entry).to_contain_text("this was the globex workshop")
    assert kinds(data_root).count("assign_range") == 1

    entry.get_by_placeholder("reason to revoke").fill("wrong client after all")
    entry.get_by_role("button", name="Revoke").click()
    expect(page.locator("#toast")).to_contain_text("revoked")
    expect(page.locator('tr[data-segment][data-seg-client="globex"]')).to_have_count(0)
    expect(page.locator("#review-chart rect.seg-adjusted")).to_have_count(0)
    revoked = page.locator('li.adjustment[data-kind="assign_range"]').first
    expect(revoked).to_have_class("adjustment is-revoked")
    expect(revoked).to_contain_text("wrong client after all")
    assert kinds(data_root)[-1] == "revoke"


def test_a_reason_is_required_and_shown_by_its_field(day_page: Page, data_root: DataRoot) -> None:
    before = len(read_adjustments(data_root))
    drag(day_page, local(9, 20), local(9, 30))
    day_page.locator("#sel-client").select_option("acme")
    day_page.locator("#sel-apply").click()
    error = day_page.locator('#review-select [data-error-for="reason"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("reason is required")
    assert len(read_adjustments(data_root)) == before


def test_exclude_a_dragged_span(day_page: Page, data_root: DataRoot) -> None:
    page = day_page
    total = page.locator("#review-total").inner_text()
    drag(page, local(11, 0), local(11, 15))
    page.get_by_label("Exclude").check()
    page.locator("#sel-reason").fill("private call")
    page.locator("#sel-apply").click()
    expect(page.locator("#toast")).to_contain_text("Excluded")
    expect(page.locator("#review-total")).not_to_have_text(total, timeout=TIMEOUT_MS)
    expect(page.locator('li.adjustment[data-kind="exclude_range"]')).to_contain_text("private call")
    expect(page.locator("#review-chart rect.seg-excluded")).to_have_count(1)
    assert "exclude_range" in kinds(data_root)


def test_a_typed_manual_entry(day_page: Page, data_root: DataRoot) -> None:
    page = day_page
    page.locator("#sel-start").fill(f"{DAY.isoformat()}T14:00")
    page.locator("#sel-end").fill(f"{DAY.isoformat()}T14:30")
    page.get_by_label("Manual entry").check()
    page.locator("#sel-client").select_option("acme")
    page.locator("#sel-tags").fill("call")
    page.locator("#sel-reason").fill("phone call with acme")
    page.locator("#sel-apply").click()
    expect(page.locator("#toast")).to_contain_text("Manual entry")
    manual = page.locator('tr[data-segment][data-source="manual"]')
    expect(manual).to_have_count(1, timeout=TIMEOUT_MS)
    expect(manual).to_contain_text(f"{DAY.isoformat()} 14:00")
    expect(manual).to_contain_text("#call")
    expect(page.locator("#review-chart rect.src-manual")).to_have_count(1)
    added = [a for a in read_adjustments(data_root) if a.kind == "manual_entry"]
    assert added[-1].start == local(14) and added[-1].end == local(14, 30)


def test_keep_an_idle_gap(day_page: Page, data_root: DataRoot) -> None:
    gap = day_page.locator("li.gap").first
    gap.get_by_placeholder("reason (required)").fill("reading the spec")
    gap.get_by_role("button", name="Keep").click()
    expect(day_page.locator("#toast")).to_contain_text("Idle kept")
    expect(day_page.locator("li.gap .badge-decided").first).to_have_text("Idle kept")
    kept = day_page.locator('tr[data-segment][data-source="idle_kept"]')
    expect(kept).to_have_count(1, timeout=TIMEOUT_MS)
    expect(day_page.locator("#review-chart rect.idle-idle_keep")).to_have_count(1)
    assert kinds(data_root)[-1] == "idle_keep"


def test_a_locked_period_is_shown_locked_and_its_actions_are_disabled(
    day_page: Page, control: LiveControl, data_root: DataRoot
) -> None:
    page = day_page
    issued = call(
        data_root, "issue_invoice", client_id="acme",
        start=local(0).isoformat(), end=local(0, day=DAY + timedelta(days=1)).isoformat(),
    )["invoice"]  # fmt: skip
    number = issued["number"]
    page.reload()
    lock = page.locator("li[data-lock]")
    expect(lock).to_have_count(1)
    expect(lock).to_contain_text(f"Invoice {number} bills acme")
    expect(page.locator("#review-chart g.locked-period")).to_have_attribute("data-invoice", number)
    expect(page.locator("tr[data-segment] .badge-locked").first).to_contain_text(number)
    # the idle gap and the adjustments inside the period cannot be changed
    expect(page.locator("li.gap").get_by_role("button", name="Keep")).to_be_disabled()
    expect(page.locator("li.gap")).to_contain_text(f"Locked by invoice {number}")
    in_force = page.locator('li.adjustment[data-kind="exclude_range"]')
    expect(in_force).to_contain_text(f"Locked by invoice {number}")
    expect(in_force.get_by_role("button", name="Revoke")).to_have_count(0)
    # a drag inside it disables Apply and names the invoice
    drag(page, local(9, 10), local(9, 40))
    expect(page.locator("#sel-locked")).to_be_visible()
    expect(page.locator("#sel-locked")).to_contain_text(number)
    expect(page.locator("#sel-apply")).to_be_disabled()
    # typed times skip the page's check: Operations refuses (period_locked), nothing changes
    before = len(read_adjustments(data_root))
    page.locator("#sel-start").fill(f"{DAY.isoformat()}T09:10")
    page.locator("#sel-end").fill(f"{DAY.isoformat()}T09:40")
    page.locator("#sel-client").select_option("globex")
    page.locator("#sel-reason").fill("try anyway")
    page.locator("#sel-apply").click()
    refusal = page.locator('#review-select [data-error-for="start"]')
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text(number)
    assert len(read_adjustments(data_root)) == before

    # voided, the period unlocks
    lock.get_by_placeholder("reason to void").fill("wrong rate")
    lock.get_by_role("button", name="Void…").click()
    expect(page.locator("#toast")).to_contain_text("voided")
    expect(page.locator("li[data-lock]")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator("li.gap").get_by_role("button", name="Keep")).to_be_enabled()
