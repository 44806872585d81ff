"""In Chromium, against a real Operations with screen_tracker instances whose artifacts
the test writes: usage, archive a range, restore with conflicts (keep, then overwrite),
the purge with an archive, the declined-archive purge, a purge refused without the
confirmation, and a plan that is no longer valid (Operations restarted) planned again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import DataRoot

from ._live import LiveControl, OpsProcess, wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
INSTANCES = ("screen-a", "screen-b", "screen-c", "screen-d")
CONFIG = "[settings]\nheartbeat_interval_s = 1.0\nstop_grace_s = 3.0\n\n" + "".join(
    f'[instances.{iid}]\nplugin_id = "screen_tracker"\n'
    f'instance_label = "Screen {iid[-1].upper()}"\nenabled = false\n\n'
    for iid in INSTANCES
)


def artifacts(root: DataRoot, iid: str) -> Path:
    return root.instance_dir("screen_tracker", iid) / "artifacts"


def shot(root: DataRoot, iid: str, day: int) -> Path:
    return artifacts(root, iid) / "screenshots" / f"2026-03-0{day}" / f"shot-{day}.png"


def content(day: int) -> bytes:
    return b"\x89PNG" + bytes([day]) * (1000 * day)


def write_shots(root: DataRoot, iid: str, days: range = range(1, 6)) -> None:
    """One screenshot per day of 2026-03-01.., its mtime at noon UTC of that day."""
    for day in days:
        path = shot(root, iid, day)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(content(day))
        os.chmod(path, 0o600)
        noon = datetime(2026, 3, day, 12, tzinfo=UTC).timestamp()
        os.utime(path, (noon, noon))


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    data_root.config_path.write_text(CONFIG, encoding="utf-8")
    os.chmod(data_root.config_path, 0o600)
    for iid in INSTANCES:
        write_shots(data_root, iid)
    process = OpsProcess(data_root).start()
    try:
        yield process
    finally:
        process.stop()


def open_storage(page: Page, control: LiveControl, iid: str) -> Page:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    page.goto(f"{control.base}/storage?instance={iid}")
    expect(page.locator("h1")).to_have_text("Storage")
    return page


def test_usage_shows_every_instance_with_a_chart(
    page: Page, control: LiveControl, ops: OpsProcess
) -> None:
    open_storage(page, control, "screen-a")
    row = page.locator('.storage-table tr[data-instance="screen-a"]')
    expect(row.locator("[data-total-files]")).to_have_attribute("data-total-files", "5")
    expect(row).to_contain_text("screenshots")
    expect(
        page.locator('.storage-svg g.usage-row[data-instance="screen-a"] rect.part')
    ).to_have_count(1)
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("Storage")


def test_archive_then_restore_with_conflicts_keep_then_overwrite(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    open_storage(page, control, "screen-a")
    page.locator("#a-start").fill("2026-03-01")
    page.locator("#a-end").fill("2026-03-03")
    page.get_by_role("button", name="Archive", exact=True).click()
    notice = page.locator("[data-archive-made]")
    expect(notice).to_contain_text("Archived 3 files", timeout=TIMEOUT_MS)
    expect(notice).to_contain_text("verified")
    archive_id = notice.get_attribute("data-archive-made")
    assert archive_id
    archive_zip = data_root.instance_dir("screen_tracker", "screen-a") / "archives"
    assert any(p.suffix == ".zip" for p in archive_zip.iterdir())
    # one file changed, one gone: the restore reports the change and writes nothing
    shot(data_root, "screen-a", 1).write_bytes(b"edited since")
    shot(data_root, "screen-a", 2).unlink()
    row = page.locator(f'tr[data-archive="{archive_id}"]')
    row.get_by_role("button", name="Restore…").click()
    result = page.locator("#storage-restore .restore-result")
    expect(result).to_have_attribute("data-written", "false", timeout=TIMEOUT_MS)
    expect(result).to_contain_text("1 file differ from the archive")
    expect(result.locator(".conflicts")).to_contain_text("shot-1.png")
    assert not shot(data_root, "screen-a", 2).exists()
    page.get_by_role("button", name="Restore, keep the existing files").click()
    expect(result).to_have_attribute("data-written", "true", timeout=TIMEOUT_MS)
    expect(result).to_contain_text("kept as they are")
    assert shot(data_root, "screen-a", 2).read_bytes() == content(2)
    assert shot(data_root, "screen-a", 1).read_bytes() == b"edited since"
    row.get_by_role("button", name="Restore…").click()
    expect(result).to_have_attribute("data-written", "false", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Restore, overwrite them with the archive's").click()
    expect(result).to_have_attribute("data-written", "true", timeout=TIMEOUT_MS)
    expect(result).to_contain_text("overwritten")
    assert shot(data_root, "screen-a", 1).read_bytes() == content(1)


def plan(page: Page, start: str, end: str) -> None:
    page.locator("#p-start").fill(start)
    page.locator("#p-end").fill(end)
    page.get_by_role("button", name="Plan a purge…").click()


def test_purge_with_a_new_archive_after_an_explicit_confirmation(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    open_storage(page, control, "screen-b")
    plan(page, "2026-03-01", "2026-03-02")
    form = page.locator("#purge-execute-form")
    expect(form.locator("h4").first).to_have_text("Plan: 2 files, 3.0 kB", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Continue").click()
    expect(form.locator('[data-error-for="archive_choice"]')).to_contain_text("Choose")
    page.get_by_label("Create an archive of them first (recommended)").check()
    page.get_by_role("button", name="Continue").click()
    confirm = form.locator('[data-step="confirm"]')
    expect(confirm).to_be_visible()
    expect(confirm.locator("[data-plan-files]")).to_have_text("2")
    expect(confirm.locator("[data-decision-text]")).to_contain_text("archived first")
    expect(confirm).to_contain_text("2026-03-01 00:00:00 UTC")
    expect(confirm.locator(".purge-sample")).to_contain_text("shot-1.png")
    expect(confirm.locator(".purge-sample")).to_contain_text("shot-2.png")
    # without the confirmation Operations refuses, and nothing is deleted
    page.get_by_role("button", name="Delete 2 files").click()
    expect(form.locator('[data-error-for="_form"]')).to_contain_text("confirm", timeout=TIMEOUT_MS)
    assert shot(data_root, "screen-b", 1).exists()
    page.get_by_label("I confirm: delete these 2 files").check()
    page.get_by_role("button", name="Delete 2 files").click()
    done = page.locator(".purge-done")
    expect(done).to_contain_text("Purged 2 files", timeout=TIMEOUT_MS)
    expect(done.locator("[data-tombstones]")).to_have_text("2")
    archive_id = done.locator("[data-archive-id]").inner_text()
    assert (
        not shot(data_root, "screen-b", 1).exists() and not shot(data_root, "screen-b", 2).exists()
    )
    assert shot(data_root, "screen-b", 3).exists()
    archives = data_root.instance_dir("screen_tracker", "screen-b") / "archives"
    assert any(p.name.startswith(archive_id) for p in archives.iterdir())


def test_purge_with_the_archive_declined(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    open_storage(page, control, "screen-c")
    plan(page, "2026-03-04", "2026-03-05")
    page.get_by_label("Do not archive: delete them for good").check()
    page.get_by_role("button", name="Continue").click()
    form = page.locator("#purge-execute-form")
    expect(form.locator("[data-decision-text]")).to_have_text(
        "No archive: they are deleted for good."
    )
    page.get_by_label("I confirm: delete these 2 files").check()
    page.get_by_role("button", name="Delete 2 files").click()
    done = page.locator(".purge-done")
    expect(done).to_contain_text("Purged 2 files", timeout=TIMEOUT_MS)
    expect(done).to_contain_text("you declined to archive")
    expect(done.locator("[data-tombstones]")).to_have_text("2")
    assert not shot(data_root, "screen-c", 4).exists() and shot(data_root, "screen-c", 3).exists()
    archives = data_root.instance_dir("screen_tracker", "screen-c") / "archives"
    assert not archives.exists() or not any(p.suffix == ".zip" for p in archives.iterdir())


def test_a_plan_that_is_no_longer_valid_is_planned_again(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    open_storage(page, control, "screen-d")
    plan(page, "2026-03-05", "2026-03-05")
    page.get_by_label("Do not archive: delete them for good").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I confirm: delete these 1 file").check()
    ops.stop()  # the plan lives in Operations' memory: a restart forgets it
    ops.start()
    wait_for(lambda: control.ops.available, "Control to reach Operations again")
    page.get_by_role("button", name="Delete 1 file").click()
    gone = page.locator(".purge-expired")
    expect(gone).to_contain_text("no longer valid", timeout=TIMEOUT_MS)
    expect(gone).to_contain_text("Nothing was deleted")
    assert shot(data_root, "screen-d", 5).exists()
    expect(gone.locator("#p-start")).to_have_value("2026-03-05")
    page.get_by_role("button", name="Plan again").click()
    expect(page.locator("#purge-execute-form h4").first).to_have_text(
        "Plan: 1 file, 5.0 kB", timeout=TIMEOUT_MS
    )
    page.get_by_label("Do not archive: delete them for good").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I confirm: delete these 1 file").check()
    page.get_by_role("button", name="Delete 1 file").click()
    expect(page.locator(".purge-done")).to_contain_text("Purged 1 file", timeout=TIMEOUT_MS)
    assert not shot(data_root, "screen-d", 5).exists()


def test_an_expired_plan_deletes_nothing_and_is_planned_again(
    page: Page, control: LiveControl, ops: OpsProcess, data_root: DataRoot
) -> None:
    # a plan's lifetime is a setting: make it short for this test, then put it back
    ops.stop()
    data_root.config_path.write_text(
        CONFIG.replace("[settings]\n", "[settings]\npurge_plan_ttl_s = 1.0\n", 1), encoding="utf-8"
    )
    ops.start()
    try:
        write_shots(data_root, "screen-a", range(5, 6))
        open_storage(page, control, "screen-a")
        plan(page, "2026-03-05", "2026-03-05")
        page.get_by_label("Do not archive: delete them for good").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("I confirm: delete these 1 file").check()
        page.wait_for_timeout(2500)  # longer than the plan's 1 s lifetime
        page.get_by_role("button", name="Delete 1 file").click()
        expired = page.locator(".purge-expired")
        expect(expired).to_contain_text("This purge plan has expired", timeout=TIMEOUT_MS)
        expect(expired).to_contain_text("Nothing was deleted")
        assert shot(data_root, "screen-a", 5).exists()
        page.get_by_role("button", name="Plan again").click()
        expect(page.locator("#purge-execute-form h4").first).to_contain_text(
            "Plan: 1 file", timeout=TIMEOUT_MS
        )
    finally:
        ops.stop()
        data_root.config_path.write_text(CONFIG, encoding="utf-8")
        ops.start()
