"""Packages for the Packages view tests, built and signed the way a publisher does
(``build_package``, ``sign_package``, ``sign_allowlist``) from the shell example under
``examples/packages/``, and the trust set up through Operations (``trust_key``,
``set_allowlist``) as ``mimolo keys trust`` and ``mimolo trust allow`` do."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Final

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync
from mimolo.packages import build_package, generate_key, sign_package
from mimolo.packages.allowlist import AllowlistEntry, sign_allowlist
from mimolo.packages.build import SOURCE_FILE
from mimolo.packages.signing import key_id, public_pem, public_raw

EXAMPLE: Final = Path(__file__).resolve().parents[2] / "examples" / "packages" / "sh_heartbeat"


class Publisher:
    """A signing key, and the allowlist versions it has signed for one data root."""

    def __init__(self, root: DataRoot) -> None:
        self.root = root
        self.key: Ed25519PrivateKey = generate_key()
        self.key_id = key_id(public_raw(self.key))
        self.allowed: dict[tuple[str, str], str] = {}
        self.allowlist_version = 0

    def ipc(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return request_sync(self.root.socket_path, cmd, timeout=30, **fields)

    def trust(self) -> None:
        """Trust this key in the data root (``trust_key``, as ``mimolo keys trust``)."""
        pem = public_pem(public_raw(self.key)).decode()
        self.ipc("trust_key", pem=pem, via="cli")

    def allow(self, plugin_id: str, version: str, package_hash: str) -> None:
        """Add an entry and put the next allowlist version in force (``set_allowlist``)."""
        self.allowed[(plugin_id, version)] = package_hash
        self.allowlist_version = max(self.allowlist_version, self._in_force()) + 1
        entries = [
            AllowlistEntry(plugin_id=p, version=v, package_hash=h)
            for (p, v), h in sorted(self.allowed.items())
        ]
        doc = sign_allowlist(self.allowlist_version, entries, self.key)
        self.ipc("set_allowlist", allowlist=msgspec.to_builtins(doc), via="cli")

    def _in_force(self) -> int:
        policy = self.ipc("get_trust_policy")
        version = policy.get("highest_allowlist_version")
        return version if isinstance(version, int) else 0


def package_source(folder: Path, plugin_id: str, version: str) -> Path:
    """A copy of the shell example renamed to ``plugin_id`` at ``version``."""
    src = folder / f"src-{plugin_id}-{version}"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(EXAMPLE, src)
    text = (src / SOURCE_FILE).read_text(encoding="utf-8")
    text = text.replace('plugin_id = "sh_heartbeat"', f'plugin_id = "{plugin_id}"')
    text = text.replace('version = "1.0.0"', f'version = "{version}"')
    text = text.replace('label = "Shell heartbeat (example)"', f'label = "Beat {plugin_id}"')
    (src / SOURCE_FILE).write_text(text, encoding="utf-8")
    return src


def build(
    folder: Path, plugin_id: str, version: str, *, signer: Publisher | None = None
) -> tuple[Path, str]:
    """A package zip (signed when ``signer`` is given) and its package hash."""
    out = folder / f"{plugin_id}-{version}.zip"
    built = build_package(package_source(folder, plugin_id, version), out)
    if signer is not None:
        sign_package(out, signer.key)
    return out, built.package_hash


def release(folder: Path, publisher: Publisher, plugin_id: str, version: str) -> Path:
    """A signed package that the publisher has allowlisted: installable in release mode."""
    path, package_hash = build(folder, plugin_id, version, signer=publisher)
    publisher.allow(plugin_id, version, package_hash)
    return path


def installed(root: DataRoot) -> dict[str, list[str]]:
    """``plugin_id -> [versions]`` as Operations lists them."""
    listed = request_sync(root.socket_path, "list_installed_packages", timeout=30)
    out: dict[str, list[str]] = {}
    for item in listed["packages"]:
        out.setdefault(item["plugin_id"], []).append(item["version"])
    return out


__all__ = ["Publisher", "build", "installed", "package_source", "release"]
