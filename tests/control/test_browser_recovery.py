"""In Chromium: Operations dies → banner, actions disabled, read-only views work → it
comes back → the page recovers by itself, without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl, running_ops, wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


def test_operations_killed_then_restarted(
    page: Page, control: LiveControl, data_root: DataRoot
) -> None:
    with running_ops(data_root) as ops:
        wait_for(lambda: control.ops.available, "Control to reach Operations")
        page.goto(control.signin_url)
        running = page.locator('article[data-instance="example-a"][data-state="running"]')
        expect(running).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#ops-banner")).to_be_hidden()
        stop = page.locator('article[data-instance="example-a"] button', has_text="Stop").first
        expect(stop).to_be_enabled()

        ops.kill()

        expect(page.locator("#ops-banner")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator("#ops-pill")).to_contain_text("Operations unavailable")
        expect(page.get_by_role("button", name="Stop all", exact=True)).to_be_disabled()
        expect(stop).to_be_disabled(timeout=TIMEOUT_MS)

        # Read-only views keep working while Operations is down.
        other = page.context.new_page()
        try:
            response = other.goto(f"{control.base}/timeline")
            assert response is not None and response.status == 200
            expect(other.locator("svg.timeline-svg")).to_be_visible()
            response = other.goto(f"{control.base}/logs")
            assert response is not None and response.status == 200
            expect(other.locator("#log-table")).to_contain_text("diagnostics files on disk")
        finally:
            other.close()

        ops.start()

        expect(page.locator("#ops-banner")).to_be_hidden(timeout=TIMEOUT_MS)
        expect(page.locator("#ops-pill")).to_contain_text("Operations running")
        expect(page.get_by_role("button", name="Stop all", exact=True)).to_be_enabled()
        expect(running).to_be_visible(timeout=TIMEOUT_MS)
        expect(
            page.locator('article[data-instance="example-a"] button', has_text="Stop").first
        ).to_be_enabled(timeout=TIMEOUT_MS)
