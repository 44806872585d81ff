"""In Chromium, against a real Operations and evidence written by the test: the rules
editor. The time each rule catches in the week changes as a rule is typed; a malformed
regex is named on its row; Save goes through set_rules and the timeline follows the rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl, OpsProcess
from ._review_stack import DAY, TIMEOUT_MS, call, open_signed_in, review_ops

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with review_ops(data_root) as process:
        yield process


@pytest.fixture
def rules_page(page: Page, control: LiveControl, ops: OpsProcess) -> Page:
    open_signed_in(page, control, f"/rules?date={DAY.isoformat()}")
    expect(page.locator("#rules-save")).to_be_enabled(timeout=TIMEOUT_MS)
    return page


def test_live_counts_follow_the_rule_as_it_is_typed(
    rules_page: Page, data_root: DataRoot, control: LiveControl
) -> None:
    page = rules_page
    default = page.locator("[data-catch-default]")
    expect(default).to_have_text("default catches 1h 30m")
    page.get_by_role("button", name="Add rule").click()
    row = page.locator("[data-rule]")
    expect(row).to_have_count(1)
    assert row.locator('[data-key="rule_id"]').input_value() == "rule-1"
    count = row.locator("[data-catch]")

    instance = row.get_by_label("Instance (glob)")
    instance.press_sequentially("folders-*")
    expect(count).to_have_text("catches 1h 30m")
    expect(default).to_have_text("default catches 0h 00m")
    instance.fill("")
    instance.press_sequentially("nothing-*")
    expect(count).to_have_text("catches 0h 00m")
    expect(default).to_have_text("default catches 1h 30m")

    title = row.get_by_label("Window title (regex)")
    title.fill("(")
    error = row.locator("[data-rule-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("regular expression")
    expect(title).to_have_attribute("aria-invalid", "true")
    page.locator("#rules-save").click()  # refused before Operations: nothing is written
    expect(error).to_contain_text("regular expression")
    assert call(data_root, "get_rules")["rules"] == []

    title.fill("")
    expect(error).to_be_hidden()
    instance.fill("folders-*")
    row.get_by_label("→ Client").fill("globex")
    row.get_by_label("Label").fill("all folder work is globex's")
    expect(count).to_have_text("catches 1h 30m")
    page.locator("#rules-save").click()
    expect(page.locator("#toast")).to_contain_text("Saved 1 rule(s)")
    saved = call(data_root, "get_rules")["rules"]
    assert [r["rule_id"] for r in saved] == ["rule-1"]
    assert saved[0]["match"]["instance_id"] == "folders-*"
    assert saved[0]["assign"]["client_id"] == "globex"

    page.goto(f"{control.base}/timeline?date={DAY.isoformat()}")
    globex = page.locator('tr[data-segment][data-seg-client="globex"]')
    expect(globex).to_have_count(2)
    expect(globex.first.locator(".badge-rule")).to_have_text("rule rule-1")


def test_rules_move_and_remove(rules_page: Page, data_root: DataRoot) -> None:
    page = rules_page
    expect(page.locator("[data-rule]")).to_have_count(1)  # saved by the test before
    page.get_by_role("button", name="Add rule").click()
    rows = page.locator("[data-rule]")
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    second.get_by_label("Instance (glob)").fill("folders-acme")
    second.get_by_label("→ Client").fill("acme")
    # first match wins: below rule-1 it catches nothing; moved up, it catches everything
    expect(second.locator("[data-catch]")).to_have_text("catches 0h 00m")
    second.get_by_role("button", name="Move up").click()
    moved = page.locator("[data-rule]").first
    expect(moved.locator('[data-key="rule_id"]')).to_have_value("rule-2")
    expect(moved.locator("[data-catch]")).to_have_text("catches 1h 30m")
    expect(page.locator("[data-rule]").nth(1).locator("[data-catch]")).to_have_text(
        "catches 0h 00m"
    )
    page.locator("[data-rule]").nth(1).get_by_role("button", name="Remove").click()
    expect(page.locator("[data-rule]")).to_have_count(1)
    page.locator("#rules-save").click()
    expect(page.locator("#toast")).to_contain_text("Saved 1 rule(s)")
    assert [r["rule_id"] for r in call(data_root, "get_rules")["rules"]] == ["rule-2"]
