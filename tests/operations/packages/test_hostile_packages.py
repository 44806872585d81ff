"""The hostile-package corpus: every package refused with its own code, nothing left on
disk (the whole data root listed before and after), in both modes where it applies."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.package_store import PackageStore
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.allowlist import sign_allowlist

from ._corpus import HOSTILE, SH_AGENT, Publisher, build_example, tree


def _refused(store: PackageStore, package: Path, root: DataRoot) -> str:
    before = tree(root.root)
    trust_before = TrustStore(root).state()
    with pytest.raises(MimoloError) as info:
        store.install(package)
    assert tree(root.root) == before, "a refused install left something behind"
    assert TrustStore(root).state() == trust_before
    return info.value.code


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_package_refused_in_developer_mode(
    case: str, tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    make, code = HOSTILE[case]
    assert _refused(dev_store, make(tmp_path / "hostile.zip"), data_root) == code


@pytest.mark.parametrize("case", ["zip-slip", "symlink", "1 GiB-declared bomb", "not a zip"])
def test_hostile_archive_refused_before_trust_in_release_mode(
    case: str, tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    make, code = HOSTILE[case]
    assert _refused(release_store, make(tmp_path / "hostile.zip"), data_root) == code


def test_signed_and_allowlisted_package_with_a_wrong_file_is_still_refused(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    make, _ = HOSTILE["wrong hash"]
    package = Publisher().release(data_root, make(tmp_path / "signed-but-wrong.zip"))
    assert _refused(release_store, package, data_root) == "archive_hash_mismatch"


def test_unsigned_package_refused_in_release_mode(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    package = build_example(SH_AGENT, tmp_path)
    assert _refused(release_store, package, data_root) == "signature_missing"


def test_bad_signature_refused(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    package = publisher.release(data_root, build_example(SH_AGENT, tmp_path))
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(forged, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("manifest.sig"):
                data = data.replace(b'"signature":"', b'"signature":"AAAA')
            out.writestr(info, data)
    assert _refused(release_store, forged, data_root) == "signature_invalid"


def test_untrusted_key_refused(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    package = Publisher().sign(build_example(SH_AGENT, tmp_path))
    Publisher().trust(data_root)  # some other key is trusted
    assert _refused(release_store, package, data_root) == "key_untrusted"


def test_signed_but_not_allowlisted_refused(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    publisher.trust(data_root)
    package = publisher.sign(build_example(SH_AGENT, tmp_path))
    assert _refused(release_store, package, data_root) == "not_allowlisted"


def test_another_build_of_an_allowlisted_version_refused(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    publisher.release(data_root, build_example(SH_AGENT, tmp_path / "a"))
    source = tmp_path / "b"
    other = build_example(SH_AGENT, source)
    # same plugin and version, different bytes: rebuild with an edited script
    src = next(source.glob(f"{SH_AGENT}-src"))
    (src / "agent.sh").write_text("#!/bin/sh\necho other\n", encoding="utf-8")
    from mimolo.packages.build import build_package

    build_package(src, other)
    publisher.sign(other)
    assert _refused(release_store, other, data_root) == "allowlist_hash_mismatch"


def test_allowlist_rollback_refused(tmp_path: Path, data_root: DataRoot) -> None:
    publisher = Publisher()
    publisher.trust(data_root)
    publisher.allow(data_root, build_example(SH_AGENT, tmp_path))
    publisher.allow(data_root)  # version 2
    before = tree(data_root.root)
    old = sign_allowlist(1, publisher.entries, publisher.key)
    with pytest.raises(MimoloError) as info:
        TrustStore(data_root).set_allowlist(old)
    assert info.value.code == "allowlist_rollback"
    assert tree(data_root.root) == before


def test_package_rollback_refused_after_a_newer_version_was_installed(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    newer = publisher.release(data_root, build_example(SH_AGENT, tmp_path, version="1.1.0"))
    older = publisher.release(data_root, build_example(SH_AGENT, tmp_path / "old"))
    release_store.install(newer)
    release_store.remove_version(SH_AGENT, "1.1.0")
    assert _refused(release_store, older, data_root) == "package_rollback"


def test_source_that_is_a_symlink_refused(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    package = build_example(SH_AGENT, tmp_path)
    link = tmp_path / "link.zip"
    link.symlink_to(package)
    assert _refused(dev_store, link, data_root) == "package_source_refused"
    assert _refused(dev_store, tmp_path, data_root) == "package_source_refused"


def test_source_over_the_cap_refused(tmp_path: Path, data_root: DataRoot) -> None:
    from .conftest import make_store

    store = make_store(data_root, developer=True, max_package_bytes=1000)
    package = build_example(SH_AGENT, tmp_path)
    assert _refused(store, package, data_root) == "package_source_refused"
