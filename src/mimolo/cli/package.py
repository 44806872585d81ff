"""``mimolo package build|sign|verify|inspect``: the publisher's tools. They work on files
only (no Operations needed); ``verify`` checks against the data root's trusted keys or the
public keys given with ``--pub``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import msgspec
from rich.console import Console
from rich.markup import escape

from mimolo.cli.ipc_call import data_dir_option, json_option, print_json
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.build import build_package, manifest_for, read_source, scan_tree
from mimolo.packages.keyfiles import read_private_key
from mimolo.packages.payload import check_payload
from mimolo.packages.signing import (
    RawPackage,
    key_id,
    load_public_key,
    read_package,
    sign_package,
    signer_of,
    verify_signature,
)

T = TypeVar("T")
EXIT_REFUSED = 1

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail_local(exc: MimoloError) -> NoReturn:
    """One line on stderr (``error CODE: message``) and exit 1."""
    err_console.print(f"[red]error[/red] [bold]{escape(exc.code)}[/bold]: {escape(exc.message)}")
    raise SystemExit(EXIT_REFUSED)


def attempt(run: Callable[[], T]) -> T:
    try:
        return run()
    except MimoloError as exc:
        fail_local(exc)


def describe(raw: RawPackage) -> dict[str, Any]:
    """What ``inspect`` shows: the manifest's fields, the hash and the claimed signer."""
    m = raw.manifest
    return {
        "plugin_id": m.plugin_id,
        "version": m.version,
        "label": m.label,
        "description": m.description,
        "package_hash": raw.package_hash,
        "signed_by": signer_of(raw),
        "entry": m.entry,
        "protocol": m.protocol,
        "activity_mode": m.activity_mode,
        "capabilities": m.capabilities,
        "params": [msgspec.to_builtins(p) for p in m.params],
        "files": {path: msgspec.to_builtins(e) for path, e in m.files.items()},
    }


def keys_from_files(paths: tuple[Path, ...]) -> dict[str, bytes]:
    """key id -> raw public key for each PEM file."""
    out: dict[str, bytes] = {}
    for path in paths:
        raw = load_public_key(path.read_bytes(), str(path))
        out[key_id(raw)] = raw
    return out


@click.group("package")
def package() -> None:
    """Build, sign, verify and inspect agent packages (docs/packages.md)."""


@package.command("build")
@click.argument("src_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The package file (default: PLUGIN_ID-VERSION.zip here).",
)
@json_option
def build(src_dir: Path, out: Path | None, as_json: bool) -> None:
    """Pack DIR (with its mimolo-package.toml) into a deterministic, unsigned zip."""
    if out is None:
        manifest = attempt(lambda: manifest_for(read_source(src_dir), scan_tree(src_dir)))
        out = Path(f"{manifest.plugin_id}-{manifest.version}.zip")
    built = attempt(lambda: build_package(src_dir, out))
    if as_json:
        print_json({"path": str(built.path), "package_hash": built.package_hash})
        return
    m = built.manifest
    console.print(
        f"built {escape(str(built.path))}: {m.plugin_id} {m.version}, {len(m.files)} files"
    )
    console.print(f"package hash {built.package_hash}")


@package.command("sign")
@click.argument("pkg", metavar="PKG", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your private signing key (mimolo keys generate).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: PKG)."
)
def sign(pkg: Path, key_path: Path, out: Path | None) -> None:
    """Add (or replace) PKG's manifest.sig, signed with --key."""
    private = attempt(lambda: read_private_key(key_path))
    raw = attempt(lambda: read_package(pkg))
    attempt(lambda: check_payload(pkg, raw))
    signed = attempt(lambda: sign_package(pkg, private, out))
    console.print(
        f"signed {escape(str(out or pkg))} with key {signer_of(signed)} "
        f"(package hash {signed.package_hash})"
    )


@package.command("verify")
@click.argument("pkg", metavar="PKG", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--pub",
    "pubs",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Trust this public key for the check (repeatable; default: the data root's keys).",
)
@json_option
@data_dir_option
def verify(pkg: Path, pubs: tuple[Path, ...], as_json: bool, data_dir: Path | None) -> None:
    """Check PKG: a valid signature by a trusted key, and every file as its manifest says."""
    if pubs:
        trusted = attempt(lambda: keys_from_files(pubs))
    else:
        trusted = attempt(lambda: TrustStore(DataRoot.resolve(data_dir)).trusted_keys())
    raw = attempt(lambda: read_package(pkg))
    signer = attempt(lambda: verify_signature(raw, trusted))
    total = attempt(lambda: check_payload(pkg, raw))
    if as_json:
        print_json({"ok": True, "signer": signer, "package_hash": raw.package_hash, "bytes": total})
        return
    m = raw.manifest
    console.print(
        f"[green]verified[/green] {m.plugin_id} {m.version}: signed by {signer}, "
        f"{len(m.files)} files ({total} bytes) match the manifest"
    )
    console.print(f"package hash {raw.package_hash}")


@package.command("inspect")
@click.argument("pkg", metavar="PKG", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
def inspect(pkg: Path, as_json: bool) -> None:
    """Show PKG's manifest, hash and claimed signer (nothing is verified: see verify)."""
    raw = attempt(lambda: read_package(pkg))
    info = describe(raw)
    if as_json:
        print_json(info)
        return
    console.print(f"[bold]{escape(info['label'])}[/bold] ({info['plugin_id']} {info['version']})")
    if info["description"]:
        console.print(escape(info["description"]))
    console.print(f"package hash  {info['package_hash']}")
    console.print(f"signed by     {info['signed_by'] or 'nobody (unsigned)'} (not verified)")
    console.print(f"entry         {escape(' '.join(info['entry']))}")
    console.print(f"protocol      {escape(info['protocol'])}, {info['activity_mode']}")
    console.print(f"capabilities  {escape(', '.join(info['capabilities']) or 'none')}")
    console.print(f"parameters    {escape(', '.join(p['name'] for p in info['params']) or 'none')}")
    console.print(f"files         {len(info['files'])}")


__all__ = ["attempt", "describe", "fail_local", "package"]
