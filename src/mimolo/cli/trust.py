"""``mimolo trust allow|revoke|show``: the signed allowlist. ``allow`` and ``revoke`` sign
the next allowlist version with your key and send it to Operations (``set_allowlist``);
``show`` reads ``trust/`` directly, so it works while Operations is down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.markup import escape

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.cli.package import attempt, fail_local
from mimolo.dataroot import DataRoot
from mimolo.errors import NotAllowlisted
from mimolo.ipc.server.handlers.trust import policy_view
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.allowlist import AllowlistEntry, sign_allowlist
from mimolo.packages.keyfiles import read_private_key
from mimolo.packages.payload import check_payload
from mimolo.packages.policy import TrustMode
from mimolo.packages.signing import read_package
from mimolo.timeline.policy import read_config

console = Console(highlight=False)

_KEY_OPTION = click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The private key that signs the allowlist (its public half must be trusted).",
)


def current_entries(policy: dict[str, Any]) -> tuple[list[AllowlistEntry], int]:
    """The entries in force and the next allowlist version, from ``get_trust_policy``."""
    allowlist = policy.get("allowlist") or {}
    entries = msgspec.convert(allowlist.get("entries") or [], list[AllowlistEntry])
    highest = max(
        int(policy.get("highest_allowlist_version") or 0), int(allowlist.get("version") or 0)
    )
    return entries, highest + 1


def send(
    data_dir: Path | None, key_path: Path, entries: list[AllowlistEntry], version: int
) -> dict[str, Any]:
    private = attempt(lambda: read_private_key(key_path))
    doc = attempt(lambda: sign_allowlist(version, entries, private))
    return call(data_dir, "set_allowlist", allowlist=doc.to_dict(), via="cli")


@click.group("trust")
def trust() -> None:
    """The signed allowlist: which package builds release mode installs and runs."""


@trust.command("allow")
@click.argument("pkg", metavar="PKG", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_KEY_OPTION
@json_option
@data_dir_option
def allow(pkg: Path, key_path: Path, as_json: bool, data_dir: Path | None) -> None:
    """Allowlist PKG's (plugin_id, version, package hash) in the next allowlist version."""
    raw = attempt(lambda: read_package(pkg))
    attempt(lambda: check_payload(pkg, raw))
    m = raw.manifest
    entries, version = current_entries(call(data_dir, "get_trust_policy"))
    kept = [e for e in entries if (e.plugin_id, e.version) != (m.plugin_id, m.version)]
    entry = AllowlistEntry(m.plugin_id, m.version, raw.package_hash)
    answer = send(data_dir, key_path, [*kept, entry], version)
    if as_json:
        print_json(answer)
        return
    console.print(
        f"allowlist version {answer['version']}: {m.plugin_id} {m.version} "
        f"({raw.package_hash[:16]}…) allowed, {len(answer['entries'])} entries"
    )


@trust.command("revoke")
@click.argument("plugin_id", metavar="PLUGIN")
@click.argument("version", metavar="VERSION")
@_KEY_OPTION
@json_option
@data_dir_option
def revoke(
    plugin_id: str, version: str, key_path: Path, as_json: bool, data_dir: Path | None
) -> None:
    """Remove PLUGIN VERSION from the allowlist (the next version, signed with --key)."""
    entries, next_version = current_entries(call(data_dir, "get_trust_policy"))
    kept = [e for e in entries if (e.plugin_id, e.version) != (plugin_id, version)]
    if len(kept) == len(entries):
        fail_local(NotAllowlisted(f"{plugin_id} {version} is not in the allowlist"))
    answer = send(data_dir, key_path, kept, next_version)
    if as_json:
        print_json(answer)
        return
    console.print(
        f"allowlist version {answer['version']}: {plugin_id} {version} revoked, "
        f"{len(answer['entries'])} entries"
    )


def _setting_mode(root: DataRoot) -> TrustMode:
    config, _ = read_config(root)
    return "developer" if config.settings.developer_mode else "release"


@trust.command("show")
@json_option
@data_dir_option
def show(as_json: bool, data_dir: Path | None) -> None:
    """The trusted keys, the allowlist in force and the highest versions seen."""
    root = DataRoot.resolve(data_dir)
    view = attempt(
        lambda: policy_view(
            TrustStore(root), "developer" if _setting_mode(root) == "developer" else "release"
        )
    )
    if as_json:
        print_json(view)
        return
    source = "the developer_mode setting" if view["developer_mode"] else "the default"
    console.print(f"mode: {view['mode']} ({source})")
    keys = ", ".join(k["key_id"] for k in view["trusted_keys"]) or "none"
    console.print(f"trusted keys: {keys}")
    allowlist = view["allowlist"]
    if allowlist is None:
        console.print(
            "allowlist: none in force"
            + (f" ({escape(view['allowlist_problem'])})" if view["allowlist_problem"] else "")
        )
    else:
        console.print(f"allowlist version {allowlist['version']}, signed by {allowlist['key_id']}:")
        for e in allowlist["entries"]:
            console.print(f"  {e['plugin_id']} {e['version']}  {e['package_hash']}")
    console.print(f"highest allowlist version accepted: {view['highest_allowlist_version']}")
    for plugin_id, version in sorted(view["highest_seen"].items()):
        console.print(f"highest {plugin_id} seen: {version}")


__all__ = ["allow", "current_entries", "revoke", "show", "trust"]
