"""The Packages view in Chromium against a real Operations in developer mode (the
``developer_mode`` setting): the banner, and an unsigned package reviewed, installed and
listed as UNVERIFIED with the reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl, OpsProcess, running_ops, wait_for
from ._packages_kit import build, installed

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
CONFIG = "[settings]\nheartbeat_interval_s = 1.0\ndeveloper_mode = true\n"


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with running_ops(data_root, CONFIG) as process:
        yield process


def test_developer_mode_shows_a_banner_and_unverified_packages(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    work = data_root.root.parent / "pkgs"
    work.mkdir(mode=0o700)
    path, _ = build(work, "beat_dev", "0.1.0")  # unsigned, in no allowlist
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    page.goto(f"{control.base}/packages")
    banner = page.locator("#developer-mode-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Developer mode is on")
    expect(page.locator("#trust-mode")).to_contain_text("developer")

    page.locator("#package-file").set_input_files(str(path))
    review = page.locator("article.pkg-review")
    expect(review).to_be_visible(timeout=TIMEOUT_MS)
    expect(review.locator("[data-trust-badge]")).to_have_text("UNVERIFIED")
    expect(review.locator("[data-trust-reason]")).to_contain_text("not signed")
    review.get_by_role("button", name="Install beat_dev 0.1.0").click()

    listed = page.locator('article.pkg-row[data-plugin="beat_dev"]')
    expect(listed).to_be_visible(timeout=TIMEOUT_MS)
    expect(listed).to_have_attribute("data-trust", "UNVERIFIED")
    expect(listed.locator("[data-trust-badge]")).to_have_text("UNVERIFIED")
    expect(listed.locator(".pkg-reason")).to_contain_text("not signed")
    expect(listed).to_contain_text("unsigned")
    assert installed(data_root) == {"beat_dev": ["0.1.0"]}
