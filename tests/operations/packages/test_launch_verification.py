"""Launch-time verification: installed files re-hashed against the signed manifest (with a
stat-keyed cache), extra files refused, signature and allowlist re-checked in release mode."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.operations.package_store import PackageStore
from mimolo.operations.package_templates import PackageCatalog, PackageTemplate
from mimolo.operations.trust_store import TrustStore

from ._corpus import PY_AGENT, SH_AGENT, Publisher, build_example


def _catalog(root: DataRoot, *, developer: bool) -> PackageCatalog:
    catalog = PackageCatalog(root)
    catalog.developer_mode = developer
    return catalog


def _template(catalog: PackageCatalog, plugin_id: str) -> PackageTemplate:
    template = catalog.resolve(plugin_id)
    assert isinstance(template, PackageTemplate)
    return template


def test_installed_package_is_a_template_with_its_argv_and_params(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    dev_store.install(build_example(PY_AGENT, tmp_path))
    dev_store.install(build_example(SH_AGENT, tmp_path))
    catalog = _catalog(data_root, developer=True)
    py = _template(catalog, PY_AGENT)
    folder = data_root.packages_dir / PY_AGENT / "1.0.0"
    assert py.argv() == [sys.executable, str(folder / "agent.py")]
    assert [p.name for p in py.params] == ["mode"]
    assert (py.builtin, py.verified, py.version) == (False, False, "1.0.0")
    sh = _template(catalog, SH_AGENT)
    assert sh.argv() == [str(data_root.packages_dir / SH_AGENT / "1.0.0" / "agent.sh")]
    assert catalog.resolve("agent_example") is None  # built-ins are not the catalog's


def test_unchanged_files_are_hashed_once_and_a_change_is_seen(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    dev_store.install(build_example(SH_AGENT, tmp_path))
    catalog = _catalog(data_root, developer=True)
    template = _template(catalog, SH_AGENT)
    assert catalog.launch_refusal(template) is None
    hashed = catalog.hashes.hashed
    assert catalog.launch_refusal(template) is None
    assert catalog.hashes.hashed == hashed  # cached by (path, size, mtime_ns, inode)
    agent = Path(template.package_dir) / "agent.sh"
    original = agent.read_bytes()
    agent.write_bytes(original.replace(b"VERSION", b"VERSIOM"))  # same size, new content
    os.utime(agent, ns=(1, 1))
    why = catalog.launch_refusal(template)
    assert why is not None and "agent.sh" in why and "no longer matches" in why


def test_extra_file_and_replaced_file_refused(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    dev_store.install(build_example(PY_AGENT, tmp_path))
    catalog = _catalog(data_root, developer=True)
    template = _template(catalog, PY_AGENT)
    folder = Path(template.package_dir)
    (folder / "json.py").write_text("raise SystemExit('shadowed the stdlib')\n")
    why = catalog.launch_refusal(template)
    assert why is not None and "json.py" in why and "not in its manifest" in why
    (folder / "json.py").unlink()
    assert catalog.launch_refusal(template) is None
    (folder / "agent.py").unlink()
    (folder / "agent.py").symlink_to("/bin/true")
    why = catalog.launch_refusal(template)
    assert why is not None and "not a plain file" in why


def test_release_mode_rechecks_signature_and_allowlist_at_every_launch(
    tmp_path: Path, data_root: DataRoot, release_store: PackageStore
) -> None:
    publisher = Publisher()
    release_store.install(publisher.release(data_root, build_example(SH_AGENT, tmp_path)))
    catalog = _catalog(data_root, developer=False)
    template = _template(catalog, SH_AGENT)
    assert template.verified and template.publisher == publisher.key_id
    assert catalog.launch_refusal(template) is None
    TrustStore(data_root).untrust_key(publisher.key_id)
    why = catalog.launch_refusal(template)
    assert why is not None and publisher.key_id in why


def test_developer_mode_package_does_not_run_in_release_mode(
    tmp_path: Path, data_root: DataRoot, dev_store: PackageStore
) -> None:
    dev_store.install(build_example(SH_AGENT, tmp_path))
    release = _catalog(data_root, developer=False)
    template = _template(release, SH_AGENT)
    assert template.verified is False
    why = release.launch_refusal(template)
    assert why is not None and "not signed" in why
    assert _catalog(data_root, developer=True).launch_refusal(template) is None
