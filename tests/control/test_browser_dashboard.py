"""In Chromium, against a real Operations with agent_example instances: the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl, OpsProcess, running_ops, wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with running_ops(data_root) as process:
        yield process


@pytest.fixture
def dashboard(page: Page, control: LiveControl, ops: OpsProcess) -> Page:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    expect(page.locator("#ops-banner")).to_be_hidden()
    return page


def card(page: Page, instance_id: str) -> Locator:
    return page.locator(f'article[data-instance="{instance_id}"]')


def expect_state(page: Page, instance_id: str, state: str) -> None:
    expect(card(page, instance_id)).to_have_attribute("data-state", state, timeout=TIMEOUT_MS)


def test_a_card_per_instance_with_its_metrics(dashboard: Page) -> None:
    expect_state(dashboard, "example-a", "running")
    expect_state(dashboard, "example-b", "running")
    a = card(dashboard, "example-a")
    expect(a.locator(".card-title")).to_have_text("Example A")
    for label in ("Uptime", "CPU", "RSS", "Last heartbeat", "Restarts", "Drops"):
        expect(a.locator("dt", has_text=label)).to_be_visible()
    expect(a.locator("[data-widget-slot]")).to_be_visible()
    # live: the heartbeat time fills in without a reload
    heartbeat = a.locator("dt:text('Last heartbeat') + dd")
    expect(heartbeat).to_have_text(re.compile(r"\d{4}-\d\d-\d\d"), timeout=TIMEOUT_MS)


def test_stop_start_and_restart_change_the_card(dashboard: Page) -> None:
    b = card(dashboard, "example-b")
    expect_state(dashboard, "example-b", "running")
    b.get_by_role("button", name="Stop", exact=True).click()
    expect_state(dashboard, "example-b", "stopped")
    card(dashboard, "example-b").get_by_role("button", name="Start", exact=True).click()
    expect_state(dashboard, "example-b", "running")
    card(dashboard, "example-b").get_by_role("button", name="Restart", exact=True).click()
    expect(dashboard.locator("#toast")).to_contain_text("Restarted example-b", timeout=TIMEOUT_MS)
    expect_state(dashboard, "example-b", "running")


def test_flush_reports_back(dashboard: Page) -> None:
    expect_state(dashboard, "example-a", "running")
    card(dashboard, "example-a").get_by_role("button", name="Flush", exact=True).click()
    expect(dashboard.locator("#toast")).to_contain_text("Flushed example-a", timeout=TIMEOUT_MS)


def test_add_an_instance_from_a_template(dashboard: Page) -> None:
    dashboard.locator('a[href="/instances/new?plugin_id=agent_example"]').click()
    dashboard.wait_for_url("**/instances/new?plugin_id=agent_example")
    dashboard.get_by_label("Label").fill("Example C")
    dashboard.get_by_label("Bill to client").fill("globex")
    dashboard.get_by_label("activity probability").fill("0.5")
    dashboard.get_by_role("button", name="Add instance", exact=True).click()
    dashboard.wait_for_url(re.compile(r"/$"))
    new_card = dashboard.locator("article[data-instance]", has_text="Example C")
    expect(new_card).to_have_count(1, timeout=TIMEOUT_MS)
    expect(new_card).to_have_attribute("data-state", "running", timeout=TIMEOUT_MS)
    expect(new_card).to_contain_text("globex")


def test_a_bad_parameter_shows_an_inline_error_by_the_field(dashboard: Page) -> None:
    dashboard.goto(dashboard.url.rstrip("/") + "/instances/new?plugin_id=agent_example")
    dashboard.get_by_label("Label").fill("Broken")
    dashboard.get_by_label("activity probability").fill("5")
    dashboard.get_by_role("button", name="Add instance", exact=True).click()
    error = dashboard.locator('[data-error-for="params.activity_probability"]')
    expect(error).to_be_visible()
    expect(error).to_have_text("Must be <= 1, got 5.0")
    expect(dashboard.get_by_label("activity probability")).to_have_attribute("aria-invalid", "true")
    assert "/instances/new" in dashboard.url  # nothing was added, the form stays

    dashboard.get_by_label("activity probability").fill("0.5")
    dashboard.get_by_label("Bill to client").fill("Not A Slug")
    dashboard.get_by_role("button", name="Add instance", exact=True).click()
    expect(dashboard.locator('[data-error-for="client_id"]')).to_be_visible()
    expect(error).to_be_hidden()


def test_configure_changes_the_label(dashboard: Page) -> None:
    card(dashboard, "example-a").get_by_role("link", name="Configure").click()
    dashboard.wait_for_url("**/instances/example-a/configure")
    expect(dashboard.get_by_label("mode")).to_have_value("active")
    dashboard.get_by_label("Label").fill("Example A (renamed)")
    dashboard.get_by_role("button", name="Save", exact=True).click()
    dashboard.wait_for_url(re.compile(r"/$"))
    expect(card(dashboard, "example-a").locator(".card-title")).to_have_text(
        "Example A (renamed)", timeout=TIMEOUT_MS
    )


def test_duplicate_then_remove_with_confirmation(dashboard: Page) -> None:
    cards = dashboard.locator("article[data-instance]")
    expect(card(dashboard, "example-b")).to_be_visible()
    before = cards.count()
    card(dashboard, "example-b").get_by_role("button", name="Duplicate", exact=True).click()
    expect(cards).to_have_count(before + 1, timeout=TIMEOUT_MS)
    ids = [c.get_attribute("data-instance") for c in cards.all()]
    copy = next(i for i in ids if i and i.startswith("example-b") and i != "example-b")
    card(dashboard, copy).get_by_role(
        "button", name="Remove", exact=True
    ).click()  # dialog accepted
    expect(cards).to_have_count(before, timeout=TIMEOUT_MS)
    expect(card(dashboard, copy)).to_have_count(0)


def test_stop_all_and_start_all(dashboard: Page) -> None:
    dashboard.get_by_role("button", name="Stop all", exact=True).click()
    expect(dashboard.locator('article[data-state="running"]')).to_have_count(0, timeout=TIMEOUT_MS)
    dashboard.get_by_role("button", name="Start all", exact=True).click()
    expect(dashboard.locator('article[data-state="stopped"]')).to_have_count(0, timeout=TIMEOUT_MS)
    expect_state(dashboard, "example-a", "running")


def test_the_operations_log_shows_lifecycle_records(dashboard: Page) -> None:
    dashboard.get_by_role("link", name="Operations log").click()
    dashboard.wait_for_url("**/logs")
    expect(dashboard.locator("#log-table")).to_contain_text("Operations (live tail)")
    rows = dashboard.locator(".log-table tbody tr")
    expect(rows.first).to_be_visible(timeout=TIMEOUT_MS)
    dashboard.get_by_label("Instance").select_option("example-a")
    dashboard.get_by_role("button", name="Filter", exact=True).click()
    dashboard.wait_for_url("**instance=example-a**")
    for text in dashboard.locator(".log-table tbody td:nth-child(4)").all_inner_texts():
        assert text.strip() == "example-a"
