"""Install, reinstall, upgrade and removal in the package store (real zips, real files)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.package_store import PackageStore, installed_versions
from mimolo.operations.trust_store import TrustStore

from ._corpus import PY_AGENT, SH_AGENT, Publisher, build_example, tree


def _code(store: PackageStore, package: Path, **options: object) -> str:
    with pytest.raises(MimoloError) as info:
        store.install(package, **options)  # type: ignore[arg-type]
    return info.value.code


def test_developer_mode_install_is_unverified_and_owner_only(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    result = dev_store.install(build_example(SH_AGENT, tmp_path))
    folder = data_root.packages_dir / SH_AGENT / "1.0.0"
    assert result.installed_path == str(folder)
    assert result.action == "install"
    assert result.trust.state == "UNVERIFIED"
    assert result.trust.code == "signature_missing"
    assert sorted(p.name for p in folder.iterdir()) == ["agent.sh", "manifest.json"]
    assert stat.S_IMODE((folder / "agent.sh").stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "manifest.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not (data_root.packages_dir / ".staging").exists()
    assert TrustStore(data_root).state().highest_seen == {SH_AGENT: "1.0.0"}


def test_release_mode_install_keeps_the_signature(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    package = publisher.release(data_root, build_example(PY_AGENT, tmp_path))
    result = release_store.install(package)
    assert result.trust.state == "verified"
    assert result.trust.signer == publisher.key_id
    folder = Path(result.installed_path)
    assert (folder / "manifest.sig").is_file()
    assert (folder / "agent.py").is_file()


def test_same_version_again_needs_force_and_the_identical_package(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    package = build_example(SH_AGENT, tmp_path / "a")
    dev_store.install(package)
    assert _code(dev_store, package) == "version_already_installed"
    agent = data_root.packages_dir / SH_AGENT / "1.0.0" / "agent.sh"
    agent.write_text("#!/bin/sh\necho tampered\n", encoding="utf-8")
    again = dev_store.install(package, force=True)
    assert again.action == "reinstall"
    assert b"tampered" not in agent.read_bytes()  # the reinstall repaired it
    src = next((tmp_path / "a").glob(f"{SH_AGENT}-src"))
    (src / "agent.sh").write_text("#!/bin/sh\necho different\n", encoding="utf-8")
    from mimolo.packages.build import build_package

    different = build_package(src, tmp_path / "different.zip").path
    before = tree(data_root.root)
    assert _code(dev_store, different, force=True) == "version_already_installed"
    assert tree(data_root.root) == before


def test_install_of_another_version_points_to_upgrade(
    tmp_path: Path, dev_store: PackageStore
) -> None:
    dev_store.install(build_example(SH_AGENT, tmp_path))
    newer = build_example(SH_AGENT, tmp_path / "n", version="1.1.0")
    assert _code(dev_store, newer) == "plugin_already_installed"


def test_upgrade_only_to_a_higher_version(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    newer = build_example(SH_AGENT, tmp_path / "n", version="1.1.0")
    assert _code(dev_store, newer, mode="upgrade") == "package_not_installed"
    dev_store.install(build_example(SH_AGENT, tmp_path))
    result = dev_store.install(newer, mode="upgrade")
    assert result.action == "upgrade"
    assert result.from_versions == ["1.0.0"]
    assert installed_versions(data_root.packages_dir, SH_AGENT) == ["1.0.0", "1.1.0"]
    same = build_example(SH_AGENT, tmp_path / "s", version="1.1.0")
    assert _code(dev_store, same, mode="upgrade") == "not_newer_than_installed"
    older = build_example(SH_AGENT, tmp_path / "o", version="1.0.5")
    assert _code(dev_store, older, mode="upgrade") == "not_newer_than_installed"
    pre = build_example(SH_AGENT, tmp_path / "p", version="1.1.0-rc.1")
    assert _code(dev_store, pre, mode="upgrade") == "not_newer_than_installed"


def test_remove_a_version_and_the_plugin_folder(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    before = tree(data_root.packages_dir)
    dev_store.install(build_example(SH_AGENT, tmp_path))
    dev_store.remove_version(SH_AGENT, "1.0.0")
    assert tree(data_root.packages_dir) == before
    assert TrustStore(data_root).state().highest_seen == {SH_AGENT: "1.0.0"}  # kept
    with pytest.raises(MimoloError) as info:
        dev_store.remove_version(SH_AGENT, "1.0.0")
    assert info.value.code == "package_not_installed"


def test_inspect_says_what_an_install_would_do(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    package = build_example(SH_AGENT, tmp_path)
    view = release_store.inspect(package)
    assert view["plugin_id"] == SH_AGENT
    assert view["trust"] == "refused"
    assert view["trust_code"] == "signature_missing"
    assert view["payload_ok"] is True
    assert view["action"] is None
    assert view["refusal"] == {"code": "signature_missing", "message": view["trust_reason"]}
    assert view["capabilities"] == ["summary", "heartbeat", "status"]
    assert [f["path"] for f in view["files"]] == ["agent.sh"]
    publisher = Publisher()
    publisher.release(data_root, package)
    view = release_store.inspect(package)
    assert (view["trust"], view["action"], view["publisher"]) == (
        "verified",
        "install",
        publisher.key_id,
    )
    assert not (data_root.packages_dir / SH_AGENT).exists()


def test_leftover_staging_is_cleaned_when_the_store_starts(data_root: DataRoot) -> None:
    from .conftest import make_store

    leftover = data_root.packages_dir / ".staging" / "abandoned"
    leftover.mkdir(parents=True)
    (leftover / "package.zip").write_bytes(b"half")
    make_store(data_root, developer=False)
    assert not (data_root.packages_dir / ".staging").exists()
