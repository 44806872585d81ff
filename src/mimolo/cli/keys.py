"""``mimolo keys generate|list|trust|untrust``: publisher signing keys and the keys this
data root trusts. ``generate`` writes under your config folder (never the data root);
``trust`` / ``untrust`` go through Operations, the only writer of ``trust/``; ``list``
reads ``trust/`` directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import platformdirs
from rich.console import Console
from rich.markup import escape

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.cli.package import attempt
from mimolo.dataroot import DataRoot
from mimolo.errors import KeyInvalid
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.keyfiles import write_key_pair
from mimolo.packages.signing import generate_key, key_id, load_public_key, public_raw

console = Console(highlight=False)


def default_keys_dir() -> Path:
    """``<user config dir>/mimolo/keys`` (``~/.config/mimolo/keys`` on Linux)."""
    return Path(platformdirs.user_config_dir("mimolo", appauthor=False)) / "keys"


def own_keys(folder: Path) -> list[dict[str, Any]]:
    """Signing key pairs in ``folder``: each ``X.pub`` whose private half ``X`` is there."""
    found: list[dict[str, Any]] = []
    if not folder.is_dir():
        return found
    for pub in sorted(folder.glob("*.pub")):
        private = pub.with_suffix("")
        try:
            kid = key_id(load_public_key(pub.read_bytes(), str(pub)))
        except (OSError, KeyInvalid):
            continue
        if private.is_file():
            found.append({"key_id": kid, "private": str(private), "public": str(pub)})
    return found


@click.group("keys")
def keys() -> None:
    """Signing keys: make your own, and choose which publishers this data root trusts."""


@keys.command("generate")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The private key file (its public half is written beside it as OUT.pub; "
    "default: ~/.config/mimolo/keys/KEY_ID).",
)
@json_option
def generate(out: Path | None, as_json: bool) -> None:
    """Make an Ed25519 signing key pair (the private key 0600, never overwritten)."""
    private = generate_key()
    kid = key_id(public_raw(private))
    path = out if out is not None else default_keys_dir() / kid
    written, pub = attempt(lambda: write_key_pair(private, path))
    if as_json:
        print_json({"key_id": kid, "private": str(written), "public": str(pub)})
        return
    console.print(f"key {kid}")
    console.print(f"private {escape(str(written))} (keep it secret; sign with --key)")
    console.print(f"public  {escape(str(pub))} (give it to those who install your packages)")


@keys.command("list")
@json_option
@data_dir_option
def list_keys(as_json: bool, data_dir: Path | None) -> None:
    """The keys this data root trusts, and your own signing keys."""
    trusted = TrustStore(DataRoot.resolve(data_dir)).list_keys()
    mine = own_keys(default_keys_dir())
    if as_json:
        print_json(
            {
                "trusted": [{"key_id": k.key_id, "path": k.path} for k in trusted],
                "own": mine,
            }
        )
        return
    console.print("[bold]trusted by this data root[/bold]")
    for k in trusted:
        console.print(f"  {k.key_id}  {escape(k.path)}")
    if not trusted:
        console.print("  none (mimolo keys trust PUB)")
    console.print("[bold]your signing keys[/bold]")
    for own in mine:
        console.print(f"  {own['key_id']}  {escape(own['private'])}")
    if not mine:
        console.print("  none (mimolo keys generate)")


@keys.command("trust")
@click.argument("pub", metavar="PUB", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
@data_dir_option
def trust(pub: Path, as_json: bool, data_dir: Path | None) -> None:
    """Trust the publisher key in the PEM file PUB (through Operations)."""
    pem = pub.read_bytes()
    attempt(lambda: load_public_key(pem, str(pub)))  # a clear error before any request
    answer = call(data_dir, "trust_key", pem=pem.decode("ascii", "replace"), via="cli")
    if as_json:
        print_json(answer)
        return
    state = "now trusted" if answer.get("added") else "was already trusted"
    console.print(f"key {answer['key_id']} {state}")


@keys.command("untrust")
@click.argument("key_id_arg", metavar="KEY_ID")
@json_option
@data_dir_option
def untrust(key_id_arg: str, as_json: bool, data_dir: Path | None) -> None:
    """Stop trusting KEY_ID: what it signed no longer verifies (through Operations)."""
    answer = call(data_dir, "untrust_key", key_id=key_id_arg, via="cli")
    if as_json:
        print_json(answer)
        return
    console.print(f"key {answer['key_id']} is no longer trusted")


__all__ = ["default_keys_dir", "keys", "own_keys"]
