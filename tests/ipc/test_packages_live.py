"""Packages through a real ``mimolo ops``: the two example packages (standard-library
Python, POSIX shell) installed, run, upgraded, tampered with and removed over the control
socket, in developer mode and in release mode (a real key, a real signed allowlist)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from control._live import OpsProcess, short_data_root, wait_for
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc.client import request_sync
from mimolo.packages.allowlist import sign_allowlist
from mimolo.packages.signing import public_pem, public_raw
from operations.packages._corpus import (
    PY_AGENT,
    SH_AGENT,
    Publisher,
    build_example,
    tree,
)

pytestmark = pytest.mark.slow

CONFIG = """\
[settings]
heartbeat_interval_s = 1.0
agent_flush_interval_s = 30.0
stop_grace_s = 5.0
"""


def call(root: DataRoot, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(root.socket_path, cmd, timeout=120.0, **fields)


def refused(root: DataRoot, cmd: str, **fields: Any) -> str:
    with pytest.raises(RemoteError) as info:
        call(root, cmd, **fields)
    return info.value.code


def state(root: DataRoot, instance_id: str) -> dict[str, Any]:
    agents = call(root, "get_agent_states")["agents"]
    return next(a for a in agents if a["instance_id"] == instance_id)


def wait_state(root: DataRoot, instance_id: str, wanted: str) -> dict[str, Any]:
    wait_for(lambda: state(root, instance_id)["state"] == wanted, f"{instance_id} {wanted}")
    return state(root, instance_id)


def audits(root: DataRoot, action: str) -> list[dict[str, Any]]:
    records = call(root, "get_diagnostics_tail", limit=1000, kind="audit")["records"]
    return [r for r in records if r.get("action") == action]


def _ops(root: DataRoot, *, developer: bool) -> OpsProcess:
    root.config_path.write_text(CONFIG, encoding="utf-8")
    ops = OpsProcess(root)
    if developer:
        ops.extra_args = ["--developer-mode"]
    return ops.start()


@pytest.fixture
def dev_ops() -> Iterator[DataRoot]:
    with short_data_root() as root:
        ops = _ops(root, developer=True)
        try:
            yield root
        finally:
            ops.stop()


@pytest.fixture
def release_ops() -> Iterator[DataRoot]:
    with short_data_root() as root:
        ops = _ops(root, developer=False)
        try:
            yield root
        finally:
            ops.stop()


def test_developer_mode_example_packages_install_run_upgrade_and_remove(
    dev_ops: DataRoot, tmp_path: Path
) -> None:
    root = dev_ops
    status = call(root, "get_status")
    assert status["developer_mode"] is True
    warned = call(root, "get_diagnostics_tail", kind="lifecycle", limit=1000)["records"]
    assert any(r.get("event") == "developer_mode" for r in warned)
    assert call(root, "get_trust_policy")["mode"] == "developer"  # from the flag alone

    for name in (PY_AGENT, SH_AGENT):
        answer = call(root, "install_package", path=str(build_example(name, tmp_path / name)))
        assert (answer["plugin_id"], answer["trust"], answer["reinstalled"]) == (
            name,
            "UNVERIFIED",
            False,
        )
    templates = {t["plugin_id"]: t for t in call(root, "list_agent_templates")["templates"]}
    assert templates[PY_AGENT]["verified"] is False
    assert templates[PY_AGENT]["builtin"] is False
    assert "package_dir" not in templates[PY_AGENT] and "entry" not in templates[PY_AGENT]
    assert [p["name"] for p in templates[PY_AGENT]["params"]] == ["mode"]

    call(
        root,
        "add_agent_instance",
        plugin_id=PY_AGENT,
        instance_label="Py counter",
        instance_id="py",
        params={"mode": "active"},
    )
    call(root, "add_agent_instance", plugin_id=SH_AGENT, instance_label="Shell", instance_id="sh")
    for iid in ("py", "sh"):
        running = wait_state(root, iid, "running")
        assert running["verified"] is False
        assert running["agent_version"] == "1.0.0"
        call(root, "flush_agent", instance_id=iid)  # answered once the agent ACKed it
    instances = call(root, "get_agent_instances")["instances"]
    assert {i["instance_id"]: i["verified"] for i in instances} == {"py": False, "sh": False}
    with pytest.raises(RemoteError) as bad:
        call(root, "update_agent_instance", instance_id="py", params={"mode": "sideways"})
    assert bad.value.code == "config_invalid"  # the manifest's params validate the config

    listing = {p["plugin_id"]: p for p in call(root, "list_installed_packages")["packages"]}
    assert listing[SH_AGENT]["trust"] == "UNVERIFIED"
    assert listing[SH_AGENT]["trust_code"] == "signature_missing"
    assert listing[SH_AGENT]["capabilities"] == ["summary", "heartbeat", "status"]
    assert [i["instance_id"] for i in listing[SH_AGENT]["instances"]] == ["sh"]

    # upgrade: the running instance restarts onto 1.1.0, then 1.0.0 is removed
    pid_before = state(root, "sh")["pid"]
    newer = build_example(SH_AGENT, tmp_path / "new", version="1.1.0")
    up = call(root, "upgrade_package", path=str(newer))
    assert (up["from_version"], up["version"], up["restarted"]) == ("1.0.0", "1.1.0", ["sh"])
    assert up["states"] == {"sh": "running"} and up["old_version_removed"] is True
    assert state(root, "sh")["pid"] != pid_before
    assert sorted(p.name for p in (root.packages_dir / SH_AGENT).iterdir()) == ["1.1.0"]
    older = build_example(SH_AGENT, tmp_path / "old")
    assert refused(root, "upgrade_package", path=str(older)) == "not_newer_than_installed"
    assert refused(root, "install_package", path=str(newer)) == "version_already_installed"
    assert call(root, "install_package", path=str(newer), force=True)["reinstalled"] is True

    # tampering with an installed file: the next start is refused, the instance untrusted
    agent = root.packages_dir / PY_AGENT / "1.0.0" / "agent.py"
    agent.write_text(agent.read_text() + "\n# changed after install\n")
    call(root, "restart_agent", instance_id="py")
    untrusted = wait_state(root, "py", "untrusted")
    assert "agent.py" in untrusted["last_error"]
    assert untrusted["pid"] is None
    refusal = audits(root, "launch_refused")
    assert refusal and refusal[-1]["instance_id"] == "py"
    listing = {p["plugin_id"]: p for p in call(root, "list_installed_packages")["packages"]}
    assert listing[PY_AGENT]["trust"] == "refused"
    assert listing[PY_AGENT]["trust_code"] == "package_tampered"
    call(
        root, "install_package", path=str(tmp_path / PY_AGENT / f"{PY_AGENT}-1.0.0.zip"), force=True
    )
    call(root, "start_agent", instance_id="py")
    assert wait_state(root, "py", "running")["last_error"] is None

    # removal: refused in use, then with the instances
    assert refused(root, "remove_package", plugin_id=SH_AGENT) == "package_in_use"
    removed = call(root, "remove_package", plugin_id=SH_AGENT, remove_instances=True)
    assert removed == {
        "plugin_id": SH_AGENT,
        "removed_versions": ["1.1.0"],
        "removed_instances": ["sh"],
    }
    assert "sh" not in {i["instance_id"] for i in call(root, "get_agent_instances")["instances"]}
    assert not (root.packages_dir / SH_AGENT).exists()
    outcomes = [a["outcome"] for a in audits(root, "install_package")]
    assert outcomes.count("installed") == 2 and "refused" in outcomes and "reinstalled" in outcomes
    assert [a["outcome"] for a in audits(root, "remove_package")] == ["refused", "removed"]


def test_release_mode_needs_a_trusted_signature_and_an_allowlist_entry(
    release_ops: DataRoot, tmp_path: Path
) -> None:
    root = release_ops
    assert call(root, "get_status")["developer_mode"] is False
    package = build_example(SH_AGENT, tmp_path)
    before = tree(root.packages_dir)
    assert refused(root, "install_package", path=str(package)) == "signature_missing"
    assert tree(root.packages_dir) == before
    publisher = Publisher()
    publisher.sign(package)
    assert refused(root, "install_package", path=str(package)) == "key_untrusted"
    call(root, "trust_key", pem=public_pem(public_raw(publisher.key)).decode())
    assert refused(root, "install_package", path=str(package)) == "not_allowlisted"
    inspected = call(root, "inspect_package", path=str(package))
    assert inspected["refusal"]["code"] == "not_allowlisted"
    assert inspected["claimed_signer"] == publisher.key_id
    from mimolo.packages.allowlist import AllowlistEntry
    from mimolo.packages.signing import read_package

    raw = read_package(package)
    entry = AllowlistEntry(SH_AGENT, "1.0.0", raw.package_hash)
    allowlist = sign_allowlist(1, [entry], publisher.key)
    call(root, "set_allowlist", allowlist=msgspec.to_builtins(allowlist))
    answer = call(root, "install_package", path=str(package))
    assert (answer["trust"], answer["publisher"]) == ("verified", publisher.key_id)
    call(root, "add_agent_instance", plugin_id=SH_AGENT, instance_label="Beat", instance_id="beat")
    assert wait_state(root, "beat", "running")["verified"] is True
    listing = call(root, "list_installed_packages")["packages"]
    assert [(p["trust"], p["publisher"]) for p in listing] == [("verified", publisher.key_id)]

    # revoking trust in the key stops the package at its next start
    call(root, "untrust_key", key_id=publisher.key_id)
    call(root, "restart_agent", instance_id="beat")
    untrusted = wait_state(root, "beat", "untrusted")
    assert publisher.key_id in untrusted["last_error"]
