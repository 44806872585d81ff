"""In Chromium, against a real Operations with a capturing agent: "Pause recording…",
the banner while paused, Resume, and a bad choice answered by the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync

from ._capture_ops import capture_ops
from ._live import LiveControl, OpsProcess, wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with capture_ops(data_root) as process:
        yield process


@pytest.fixture
def dashboard(page: Page, control: LiveControl, ops: OpsProcess) -> Page:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    expect(page.locator('article[data-instance="probe"]')).to_have_attribute(
        "data-state", "running", timeout=TIMEOUT_MS
    )
    return page


def pause_state(root: DataRoot) -> dict[str, object]:
    status = request_sync(root.socket_path, "get_status", timeout=10)
    state = status["capture_pause"]
    assert isinstance(state, dict)
    return state


def test_pause_for_a_while_then_resume(dashboard: Page, data_root: DataRoot) -> None:
    banner = dashboard.locator("#capture-banner")
    expect(banner).to_have_count(0)
    dashboard.get_by_label("Pause for").select_option(label="15 minutes")
    dashboard.get_by_role("button", name="Pause recording…", exact=True).click()
    expect(dashboard.locator("#toast")).to_contain_text("Recording paused for 15 minutes")
    expect(banner).to_be_visible(timeout=TIMEOUT_MS)
    expect(banner).to_contain_text("Recording paused")
    expect(banner).to_contain_text("nothing identifying")
    state = pause_state(data_root)
    assert state["paused"] is True and state["by"] == "control" and state["until"]
    expect(banner.locator("time")).to_have_attribute("datetime", str(state["until"]))
    banner.get_by_role("button", name="Resume", exact=True).click()
    expect(dashboard.locator("#toast")).to_contain_text("Recording resumed")
    expect(banner).to_have_count(0, timeout=TIMEOUT_MS)
    expect(dashboard.get_by_role("button", name="Pause recording…")).to_be_visible()
    assert pause_state(data_root)["paused"] is False


def test_until_resumed_shows_in_the_banner_and_survives_a_reload(
    dashboard: Page, data_root: DataRoot
) -> None:
    dashboard.get_by_label("Pause for").select_option(label="Until resumed")
    dashboard.get_by_role("button", name="Pause recording…", exact=True).click()
    banner = dashboard.locator("#capture-banner")
    expect(banner).to_contain_text("until you resume it", timeout=TIMEOUT_MS)
    dashboard.reload()
    expect(dashboard.locator("#capture-banner")).to_contain_text("until you resume it")
    assert pause_state(data_root)["until"] is None
    dashboard.locator("#capture-resume").click()
    expect(dashboard.locator("#capture-banner")).to_have_count(0, timeout=TIMEOUT_MS)


def test_a_tampered_choice_is_refused_by_the_field(dashboard: Page, data_root: DataRoot) -> None:
    choice = dashboard.get_by_label("Pause for")
    choice.evaluate("(el) => { el.options[2].value = '99999'; }")  # "1 hour", tampered
    choice.select_option(label="1 hour")
    dashboard.get_by_role("button", name="Pause recording…", exact=True).click()
    error = dashboard.locator('[data-error-for="minutes"]')
    expect(error).to_be_visible(timeout=TIMEOUT_MS)
    expect(error).to_contain_text("1440")
    assert pause_state(data_root)["paused"] is False
