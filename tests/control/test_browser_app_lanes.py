"""In Chromium: the timeline's application lanes, toggled on the page, over desktop_activity
summaries that the test writes into the ledger (Operations not needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl
from .ledger_files import summary_line, write_ledger

pytestmark = pytest.mark.browser

DAY = datetime(2026, 4, 7, tzinfo=UTC)
WORK = DAY + timedelta(hours=9)
SIDE = [f"tool{i}" for i in range(9)]  # more applications than lanes: the rest is "other"


def desktop(seq: int, start: datetime, apps: list[tuple[str, float]], state: str) -> bytes:
    active = state == "active"
    extra: dict[str, Any] = {
        "backend": "x11",
        "state": state,
        "active_s": 60.0 if active else 0.0,
        "idle_s": 0.0 if active else 60.0,
        "paused_s": 0.0,
        "excluded_s": 0.0,
        "applications": [
            {"application": name, "executable": name, "seconds": secs, "titles": []}
            for name, secs in apps
        ],
        "other_s": 0.0,
        "current": None,
    }
    return summary_line(
        seq,
        start,
        instance_id="desktop",
        plugin_id="desktop_activity",
        mode="active" if active else "passive",
        keep_alive=active,
        client_id=None,
        extra=extra,
    )


@pytest.fixture(scope="module", autouse=True)
def evidence(data_root: DataRoot) -> None:
    lines: list[bytes] = []
    for minute in range(30):  # 09:00-09:30 editor and browser
        lines.append(
            desktop(
                minute,
                WORK + timedelta(minutes=minute),
                [("code", 45.0), ("firefox", 15.0)],
                "active",
            )
        )
    for minute in range(30, 40):  # idle: the focused editor is not use
        lines.append(desktop(minute, WORK + timedelta(minutes=minute), [("code", 60.0)], "idle"))
    for i, name in enumerate(SIDE):  # 10:00 on: one minute of each small tool
        lines.append(
            desktop(100 + i, WORK + timedelta(hours=1, minutes=i), [(name, 60.0)], "active")
        )
    write_ledger(data_root, WORK, lines)


def sign_in(page: Page, control: LiveControl, path: str) -> None:
    page.goto(f"{control.base}{path}&token={control.auth.new_link_token()}")


def test_lanes_toggle_on_and_off_on_the_timeline_page(page: Page, control: LiveControl) -> None:
    sign_in(page, control, f"/timeline?date={DAY.date().isoformat()}")
    toggle = page.get_by_label("Application lanes")
    expect(toggle).not_to_be_checked()
    expect(page.locator("#app-lanes")).to_have_count(0)

    toggle.check()  # applies at once: the page reloads with apps=1
    page.wait_for_url("**apps=1**")
    lanes = page.locator("#app-lanes")
    expect(lanes).to_be_visible()
    expect(page.get_by_label("Application lanes")).to_be_checked()
    rows = lanes.locator("tbody tr")
    # 7 top applications, biggest first, then the remainder
    expect(rows).to_have_count(8)
    expect(rows.nth(0)).to_have_attribute("data-app", "code")
    expect(rows.nth(0).locator("td.num").first).to_have_text("22m 30s")  # 30 x 45 s
    expect(rows.nth(1)).to_have_attribute("data-app", "firefox")
    expect(rows.nth(7)).to_have_attribute("data-app", "Other applications")
    expect(rows.nth(7).locator("td.num").first).to_have_text("4m 00s")  # tool5..tool8
    svg = lanes.locator("svg.app-lanes-svg")
    expect(svg.locator("g.app-lane")).to_have_count(8)
    # the editor's 30 back-to-back minutes are one bar; the idle minutes add nothing
    expect(svg.locator('g[data-app="code"] rect.seg')).to_have_count(1)
    expect(svg.locator('g[data-app="code"] rect.seg title')).to_contain_text("0h 22m")
    expect(lanes).to_contain_text("The top 7 of 11 applications")

    # paging keeps the lanes on; an empty day says so
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**apps=1**")
    expect(page.locator("#app-lanes")).to_contain_text("No application time recorded")

    page.get_by_role("link", name="← Previous").click()
    page.get_by_label("Application lanes").uncheck()
    page.wait_for_url(lambda url: "apps=1" not in url)
    expect(page.locator("#app-lanes")).to_have_count(0)
