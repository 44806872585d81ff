"""Keys, signing and the allowlist end to end: the CLI against a real ``mimolo ops``, the
only writer of ``trust/``, with every decision in its audit trail."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control._live import OpsProcess, short_data_root, wait_for
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc.client import request_sync
from mimolo.packages.allowlist import sign_allowlist
from mimolo.packages.keyfiles import read_private_key
from packages._pkgs import make_source

CONFIG = "[settings]\nheartbeat_interval_s = 1.0\n"


@pytest.fixture
def root() -> Iterator[DataRoot]:
    with short_data_root() as data_root:
        data_root.config_path.write_text(CONFIG)
        os.chmod(data_root.config_path, 0o600)
        yield data_root


NO_DATA_DIR = ("keys generate", "package build", "package sign", "package inspect")
"""Commands that work on files only (``package verify`` is given ``--data-dir`` itself)."""


def mimolo(root: DataRoot, *args: str, env: dict[str, str] | None = None) -> Result:
    needs_root = " ".join(args[:2]) not in NO_DATA_DIR and args[:2] != ("package", "verify")
    argv = [*args, "--data-dir", str(root.root)] if needs_root else list(args)
    result = CliRunner(env={"COLUMNS": "200", **(env or {})}).invoke(cli, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def audits(root: DataRoot) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(root.diagnostics_dir.glob("*.diagnostics.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("kind") == "audit" and "outcome" in json.dumps(record):
                out.append(record)
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_generate_defaults_to_the_config_dir(tmp_path: Path, root: DataRoot) -> None:
    result = mimolo(
        root, "keys", "generate", "--json", env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    private = Path(made["private"])
    assert private.parent == tmp_path / "cfg" / "mimolo" / "keys"
    assert private.name == made["key_id"] and mode(private) == 0o600
    assert not str(private).startswith(str(root.root))
    listed = mimolo(root, "keys", "list", "--json", env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert json.loads(listed.output)["own"][0]["key_id"] == made["key_id"]


def test_mutations_need_operations(tmp_path: Path, root: DataRoot) -> None:
    mimolo(root, "keys", "generate", "--out", str(tmp_path / "k"))
    result = mimolo(root, "keys", "trust", str(tmp_path / "k.pub"))
    assert result.exit_code == 2
    assert "Operations is not running" in result.output
    assert not (root.trust_dir / "keys").exists()


def test_trust_allow_revoke_and_untrust_through_operations(tmp_path: Path, root: DataRoot) -> None:
    key = tmp_path / "keys" / "publisher"
    assert mimolo(root, "keys", "generate", "--out", str(key)).exit_code == 0
    assert mode(key) == 0o600
    src = make_source(tmp_path)
    pkg = tmp_path / "hello.zip"
    assert mimolo(root, "package", "build", str(src), "--out", str(pkg)).exit_code == 0
    assert mimolo(root, "package", "sign", str(pkg), "--key", str(key)).exit_code == 0
    inspected = json.loads(mimolo(root, "package", "inspect", str(pkg), "--json").output)
    assert inspected["plugin_id"] == "hello_sh" and inspected["signed_by"]
    ops = OpsProcess(root).start()
    try:
        # not trusted yet: verify refuses with its own code
        refused = mimolo(root, "package", "verify", str(pkg), "--data-dir", str(root.root))
        assert refused.exit_code == 1 and "key_untrusted" in refused.output
        trusted = mimolo(root, "keys", "trust", str(key) + ".pub")
        assert trusted.exit_code == 0 and "now trusted" in trusted.output, trusted.output
        kid = inspected["signed_by"]
        assert (
            mimolo(root, "keys", "trust", str(key) + ".pub")
            .output.strip()
            .endswith("already trusted")
        )
        assert kid in mimolo(root, "keys", "list").output
        verified = mimolo(root, "package", "verify", str(pkg), "--data-dir", str(root.root))
        assert verified.exit_code == 0 and "verified hello_sh 1.0.0" in verified.output

        allowed = mimolo(root, "trust", "allow", str(pkg), "--key", str(key))
        assert allowed.exit_code == 0 and "allowlist version 1" in allowed.output, allowed.output
        shown = json.loads(mimolo(root, "trust", "show", "--json").output)
        assert shown["allowlist"]["version"] == 1
        assert shown["allowlist"]["entries"][0]["package_hash"] == inspected["package_hash"]
        assert shown["highest_allowlist_version"] == 1 and shown["mode"] == "release"

        # a replayed or older allowlist is refused by Operations itself
        old = sign_allowlist(1, [], read_private_key(key))
        with pytest.raises(RemoteError) as caught:
            request_sync(root.socket_path, "set_allowlist", allowlist=old.to_dict())
        assert caught.value.code == "allowlist_rollback"
        with pytest.raises(RemoteError) as garbage:
            request_sync(root.socket_path, "set_allowlist", allowlist={"version": 9})
        assert garbage.value.code == "allowlist_invalid"
        with pytest.raises(RemoteError) as bad_pem:
            request_sync(root.socket_path, "trust_key", pem=key.read_text())
        assert bad_pem.value.code == "key_invalid"  # a private key is never trusted

        revoked = mimolo(root, "trust", "revoke", "hello_sh", "1.0.0", "--key", str(key))
        assert revoked.exit_code == 0 and "allowlist version 2" in revoked.output
        again = mimolo(root, "trust", "revoke", "hello_sh", "1.0.0", "--key", str(key))
        assert again.exit_code == 1 and "not_allowlisted" in again.output

        assert mimolo(root, "keys", "untrust", kid).exit_code == 0
        gone = mimolo(root, "keys", "untrust", kid)
        assert gone.exit_code == 1 and "unknown_key" in gone.output
        policy = request_sync(root.socket_path, "get_trust_policy")
        assert policy["trusted_keys"] == [] and policy["allowlist"] is None
        assert policy["allowlist_problem"].startswith("key_untrusted")

        wait_for(lambda: len(audits(root)) >= 8, "the trust audit records")
    finally:
        ops.stop()
    records = audits(root)
    seen = {(r.get("action"), r.get("outcome"), r.get("error")) for r in records}
    assert ("trust_key", "accepted", None) in seen
    assert ("set_allowlist", "refused", "allowlist_rollback") in seen
    assert ("set_allowlist", "refused", "allowlist_invalid") in seen
    assert ("untrust_key", "refused", "unknown_key") in seen
    # Operations wrote trust/ owner-only, and the state outlives it
    assert mode(root.trust_dir) == 0o700 and mode(root.trust_dir / "keys") == 0o700
    for path in (root.trust_dir / "state.json", root.trust_dir / "allowlist.json"):
        assert mode(path) == 0o600
    shown = json.loads(mimolo(root, "trust", "show", "--json").output)
    assert shown["highest_allowlist_version"] == 2
