"""The Packages view in Chromium against a real Operations (release mode): a signed and
allowlisted package installed from a file with its manifest shown before confirming, the
installed row, an upgrade, the identical package's force reinstall, an unsigned package
refused inline with nothing installed, drag and drop, and remove with its confirmation
naming the instances that use it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync

from ._live import LiveControl, OpsProcess, running_ops, wait_for
from ._packages_kit import Publisher, build, installed, release

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
CONFIG = "[settings]\nheartbeat_interval_s = 1.0\nstop_grace_s = 3.0\n"


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with running_ops(data_root, CONFIG) as process:
        yield process


@pytest.fixture(scope="module")
def publisher(data_root: DataRoot, ops: OpsProcess) -> Publisher:
    signer = Publisher(data_root)
    signer.trust()
    return signer


@pytest.fixture(scope="module")
def work(data_root: DataRoot) -> Path:
    folder = data_root.root.parent / "pkgs"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def view(page: Page, control: LiveControl, ops: OpsProcess, publisher: Publisher) -> Page:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    page.goto(f"{control.base}/packages")
    expect(page.locator("#trust-mode")).to_contain_text("release")
    return page


def row(page: Page, plugin_id: str) -> Locator:
    return page.locator(f'article.pkg-row[data-plugin="{plugin_id}"]')


def choose(page: Page, path: Path) -> Locator:
    page.locator("#package-file").set_input_files(str(path))
    review = page.locator("article.pkg-review")
    expect(review).to_be_visible(timeout=TIMEOUT_MS)
    return review


def uploads(root: DataRoot) -> list[Path]:
    folder = root.control_dir / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_install_shows_the_manifest_before_confirming_then_the_row(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    path = release(work, publisher, "beat_install", "1.0.0")
    review = choose(view, path)
    expect(review.locator('[data-field="plugin_id"]')).to_have_text("beat_install")
    expect(review.locator('[data-field="version"]')).to_contain_text("1.0.0")
    expect(review.locator('[data-field="entry"]')).to_contain_text("agent.sh")
    expect(review.locator('[data-field="capabilities"]')).to_contain_text("heartbeat")
    expect(review.locator('[data-field="signer"]')).to_contain_text(publisher.key_id)
    expect(review.locator('[data-field="signer"]')).to_contain_text("trusted")
    expect(review.locator("[data-trust-badge]")).to_have_text("verified")
    package_hash = request_sync(data_root.socket_path, "inspect_package", path=str(path))[
        "package_hash"
    ]
    expect(review.locator('[data-field="package_hash"]')).to_have_text(package_hash)
    assert "beat_install" not in installed(data_root)  # nothing before the confirmation
    assert len(uploads(data_root)) == 1

    review.get_by_role("button", name="Install beat_install 1.0.0").click()
    expect(view.locator("#package-message")).to_contain_text("Installed beat_install 1.0.0")
    expect(view.locator("article.pkg-review")).to_have_count(0)
    listed = row(view, "beat_install")
    expect(listed).to_be_visible(timeout=TIMEOUT_MS)
    expect(listed.locator(".pkg-version")).to_contain_text("1.0.0")
    expect(listed.locator("[data-trust-badge]")).to_have_text("verified")
    expect(listed).to_contain_text(publisher.key_id)
    expect(listed.locator(".pkg-hash")).to_have_text(package_hash)
    assert installed(data_root)["beat_install"] == ["1.0.0"]
    assert uploads(data_root) == []


def test_upgrade_to_a_higher_version_and_force_reinstall_of_the_same(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    first = release(work, publisher, "beat_upgrade", "1.0.0")
    request_sync(data_root.socket_path, "install_package", path=str(first), timeout=60)
    view.reload()
    expect(row(view, "beat_upgrade").locator(".pkg-version")).to_contain_text("1.0.0")

    newer = release(work, publisher, "beat_upgrade", "1.1.0")
    review = choose(view, newer)
    expect(review.locator('[data-field="version"]')).to_contain_text("installed: 1.0.0")
    review.get_by_role("button", name="Upgrade beat_upgrade to 1.1.0").click()
    expect(view.locator("#package-message")).to_contain_text("Upgraded to beat_upgrade 1.1.0")
    expect(row(view, "beat_upgrade")).to_have_attribute("data-version", "1.1.0")
    assert "1.1.0" in installed(data_root)["beat_upgrade"]

    review = choose(view, newer)
    expect(review).to_contain_text("This exact package is already installed")
    expect(review.locator("button[type=submit]")).to_have_text(["Force reinstall"])
    review.get_by_role("button", name="Force reinstall").click()
    expect(view.locator("#package-message")).to_contain_text("Reinstalled beat_upgrade 1.1.0")
    assert uploads(data_root) == []


def test_an_unsigned_package_is_refused_inline_and_nothing_is_installed(
    view: Page, data_root: DataRoot, work: Path
) -> None:
    path, _ = build(work, "beat_unsigned", "1.0.0")
    review = choose(view, path)
    expect(review.locator("[data-trust-badge]")).to_have_text("refused")
    refusal = review.locator("[data-refusal]")
    expect(refusal).to_have_attribute("data-refusal", "signature_missing")
    expect(refusal).to_contain_text("not signed")
    expect(refusal).to_contain_text("signature_missing")
    expect(review.locator('[data-field="signer"]')).to_contain_text("unsigned")
    expect(review.locator("button[type=submit]")).to_have_count(0)
    review.get_by_role("button", name="Discard").click()
    expect(view.locator("article.pkg-review")).to_have_count(0)
    wait_for(lambda: uploads(data_root) == [], "the discarded upload to be deleted")
    assert "beat_unsigned" not in installed(data_root)
    assert not (data_root.packages_dir / "beat_unsigned").exists()


def test_an_install_refused_by_operations_shows_its_code_inline(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    path = release(work, publisher, "beat_revoked", "1.0.0")
    review = choose(view, path)
    expect(review.locator("[data-trust-badge]")).to_have_text("verified")
    publisher.allowed.pop(("beat_revoked", "1.0.0"))
    publisher.allow("beat_other", "9.9.9", "0" * 64)  # a new allowlist without it
    review.get_by_role("button", name="Install beat_revoked 1.0.0").click()
    error = review.locator(".pkg-error")
    expect(error).to_be_visible(timeout=TIMEOUT_MS)
    expect(error).to_have_attribute("data-code", "not_allowlisted")
    expect(error).to_contain_text("(not_allowlisted)")
    assert "beat_revoked" not in installed(data_root)
    assert uploads(data_root) == []


def test_drag_and_drop_uploads_the_dropped_file(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    path = release(work, publisher, "beat_dropped", "1.0.0")
    encoded = base64.b64encode(path.read_bytes()).decode()
    transfer = view.evaluate_handle(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "application/zip" }));
            return dt;
        }""",
        [encoded, path.name],
    )
    drop = view.locator("#package-upload")
    drop.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(drop).to_have_class("pkg-drop pkg-drop-over")
    drop.dispatch_event("drop", {"dataTransfer": transfer})
    review = view.locator("article.pkg-review")
    expect(review).to_be_visible(timeout=TIMEOUT_MS)
    expect(review).to_contain_text(f"From {path.name}")
    expect(review.locator('[data-field="plugin_id"]')).to_have_text("beat_dropped")
    review.get_by_role("button", name="Cancel").click()
    wait_for(lambda: uploads(data_root) == [], "the cancelled upload to be deleted")
    assert "beat_dropped" not in installed(data_root)


def test_remove_names_the_instances_and_can_take_them_along(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    path = release(work, publisher, "beat_remove", "1.0.0")
    request_sync(data_root.socket_path, "install_package", path=str(path), timeout=60)
    request_sync(
        data_root.socket_path,
        "add_agent_instance",
        plugin_id="beat_remove",
        instance_label="Beat to remove",
        instance_id="beat-remove",
        timeout=60,
    )
    view.reload()
    listed = row(view, "beat_remove")
    expect(listed.locator(".pkg-instances")).to_contain_text("Beat to remove")
    listed.get_by_text("Remove…").click()
    form = listed.locator("form[data-package-remove]")
    expect(form).to_contain_text("used by 1 instance: Beat to remove (beat-remove)")

    form.get_by_role("button", name="Remove beat_remove").click()
    error = form.locator(".pkg-error")
    expect(error).to_have_attribute("data-code", "package_in_use", timeout=TIMEOUT_MS)
    expect(error).to_contain_text("beat-remove")
    assert "beat_remove" in installed(data_root)

    form.get_by_label("Also remove this instance").check()
    form.get_by_role("button", name="Remove beat_remove").click()
    expect(view.locator("#package-message")).to_contain_text("Removed beat_remove")
    expect(row(view, "beat_remove")).to_have_count(0, timeout=TIMEOUT_MS)
    assert "beat_remove" not in installed(data_root)
    instances = request_sync(data_root.socket_path, "get_agent_instances")["instances"]
    assert "beat-remove" not in {i["instance_id"] for i in instances}


def test_a_package_changed_after_install_is_listed_refused_with_why(
    view: Page, data_root: DataRoot, publisher: Publisher, work: Path
) -> None:
    path = release(work, publisher, "beat_tampered", "1.0.0")
    request_sync(data_root.socket_path, "install_package", path=str(path), timeout=60)
    script = data_root.packages_dir / "beat_tampered" / "1.0.0" / "agent.sh"
    script.chmod(0o700)
    script.write_text(script.read_text() + "\n# changed after install\n")
    view.reload()
    listed = row(view, "beat_tampered")
    expect(listed).to_have_attribute("data-trust", "refused")
    expect(listed.locator("[data-trust-badge]")).to_have_text("refused")
    reason = listed.locator(".pkg-reason")
    expect(reason).to_contain_text("agent.sh")
    expect(reason).to_contain_text("package_tampered")
