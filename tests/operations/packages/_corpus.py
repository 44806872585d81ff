"""Packages for the install tests, built by the tests: the two example agents (built from
examples/packages/ with the real packer), a publisher with a real Ed25519 key, and a
hostile corpus of hand-made zips, each with the error code it must be refused with."""

from __future__ import annotations

import hashlib
import shutil
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.allowlist import AllowlistEntry, sign_allowlist
from mimolo.packages.build import SOURCE_FILE, build_package
from mimolo.packages.signing import (
    generate_key,
    key_id,
    public_pem,
    public_raw,
    read_package,
    sign_package,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples" / "packages"
PY_AGENT = "py_stdlib_counter"
SH_AGENT = "sh_heartbeat"


def source_copy(name: str, dest: Path, *, version: str | None = None) -> Path:
    """A copy of an example's source, at another ``version`` if asked."""
    src = dest / f"{name}-{version or 'src'}"
    shutil.copytree(EXAMPLES / name, src)
    if version is not None:
        toml = src / SOURCE_FILE
        text = toml.read_text(encoding="utf-8").replace(
            'version = "1.0.0"', f'version = "{version}"'
        )
        toml.write_text(text, encoding="utf-8")
    return src


def build_example(name: str, dest: Path, *, version: str | None = None) -> Path:
    """The example package built with the real packer (unsigned)."""
    dest.mkdir(parents=True, exist_ok=True)
    src = source_copy(name, dest, version=version)
    out = dest / f"{name}-{version or '1.0.0'}.zip"
    build_package(src, out)
    return out


class Publisher:
    """A signing key: trusted by a data root, signs packages and allowlists."""

    def __init__(self) -> None:
        self.key = generate_key()
        self.key_id = key_id(public_raw(self.key))
        self.allowlist_version = 0
        self.entries: list[AllowlistEntry] = []

    def trust(self, root: DataRoot) -> None:
        TrustStore(root).trust_key(public_pem(public_raw(self.key)))

    def sign(self, package: Path) -> Path:
        sign_package(package, self.key)
        return package

    def allow(self, root: DataRoot, *packages: Path) -> None:
        """A new allowlist version naming ``packages`` too."""
        for package in packages:
            raw = read_package(package)
            self.entries.append(
                AllowlistEntry(raw.manifest.plugin_id, raw.manifest.version, raw.package_hash)
            )
        self.allowlist_version += 1
        TrustStore(root).set_allowlist(
            sign_allowlist(self.allowlist_version, self.entries, self.key)
        )

    def release(self, root: DataRoot, package: Path) -> Path:
        """Signed, trusted and allowlisted: installable in release mode."""
        self.trust(root)
        self.sign(package)
        self.allow(root, package)
        return package


def tree(root: Path) -> list[str]:
    """Every path under ``root`` (to show nothing was left behind)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# ---- hand-made zips ------------------------------------------------------------------

SCRIPT = b"#!/bin/sh\necho '{}'\n"


def manifest(plugin_id: str = "hostile", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": 1,
        "plugin_id": plugin_id,
        "version": "1.0.0",
        "label": "Hostile",
        "entry": ["sh", "agent.sh"],
        "protocol": ">=0.3,<0.5",
        "files": {"agent.sh": {"sha256": hashlib.sha256(SCRIPT).hexdigest(), "bytes": len(SCRIPT)}},
    }
    doc.update(overrides)
    return doc


class Entry(NamedTuple):
    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644


def write_zip(path: Path, entries: list[Entry]) -> Path:
    """A zip exactly as listed (duplicates and odd types included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate names we want
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for entry in entries:
                info = zipfile.ZipInfo(entry.name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = entry.mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, entry.data)
    return path


def with_manifest(path: Path, doc: dict[str, Any], extra: list[Entry]) -> Path:
    top = doc["plugin_id"]
    return write_zip(path, [Entry(f"{top}/manifest.json", msgspec.json.encode(doc)), *extra])


def _declare_size(path: Path, name: str, size: int) -> None:
    """Patch the local and central headers of ``name`` to claim ``size`` bytes."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(encoded)] == encoded:
                data[at + offset : at + offset + 4] = size.to_bytes(4, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


def _ok_payload(top: str = "hostile") -> list[Entry]:
    return [Entry(f"{top}/agent.sh", SCRIPT)]


def zip_slip(path: Path) -> Path:
    return with_manifest(path, manifest(), [*_ok_payload(), Entry("hostile/../../evil.sh", b"x")])


def absolute_path(path: Path) -> Path:
    return with_manifest(path, manifest(), [*_ok_payload(), Entry("/etc/evil.sh", b"x")])


def symlink(path: Path) -> Path:
    link = Entry("hostile/agent.sh", b"/etc/passwd", stat.S_IFLNK | 0o777)
    return with_manifest(path, manifest(), [link])


def hard_link_or_device(path: Path) -> Path:
    """Zip has no hard-link entry; what a hostile zip can claim is another file type."""
    return with_manifest(
        path, manifest(), [Entry("hostile/agent.sh", SCRIPT, stat.S_IFCHR | 0o644)]
    )


def duplicate(path: Path) -> Path:
    return with_manifest(path, manifest(), [*_ok_payload(), *_ok_payload()])


def case_collision(path: Path) -> Path:
    return with_manifest(path, manifest(), [*_ok_payload(), Entry("hostile/AGENT.sh", SCRIPT)])


def gigabyte_bomb(path: Path) -> Path:
    """An entry whose headers declare 1 GiB from a few compressed bytes."""
    size = 1 << 30
    files = {"agent.sh": {"sha256": "0" * 64, "bytes": size}}
    with_manifest(path, manifest(files=files), [Entry("hostile/agent.sh", b"\0" * 4096)])
    _declare_size(path, "hostile/agent.sh", size)
    return path


def wrong_hash(path: Path) -> Path:
    return with_manifest(path, manifest(), [Entry("hostile/agent.sh", b"#!/bin/sh\nrm -rf ~\n")])


def missing_file(path: Path) -> Path:
    return with_manifest(path, manifest(), [])


def unlisted_entry(path: Path) -> Path:
    return with_manifest(path, manifest(), [*_ok_payload(), Entry("hostile/extra.py", b"x")])


def executable_outside(path: Path) -> Path:
    return with_manifest(path, manifest(entry=["/bin/sh", "agent.sh"]), _ok_payload())


def parent_executable(path: Path) -> Path:
    return with_manifest(path, manifest(entry=["../../bin/evil"]), _ok_payload())


def shell_metacharacters(path: Path) -> Path:
    return with_manifest(path, manifest(entry=["sh", "agent.sh;curl|sh"]), _ok_payload())


def shadows_builtin(path: Path) -> Path:
    doc = manifest("agent_example")
    return with_manifest(path, doc, [Entry("agent_example/agent.sh", SCRIPT)])


def not_a_zip(path: Path) -> Path:
    path.write_bytes(b"this is not a zip at all\n" * 10)
    return path


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zip-slip": (zip_slip, "unsafe_archive_path"),
    "absolute path": (absolute_path, "unsafe_archive_path"),
    "symlink": (symlink, "archive_entry_type"),
    "hard link / device entry": (hard_link_or_device, "archive_entry_type"),
    "duplicate name": (duplicate, "archive_duplicate_entry"),
    "case-colliding names": (case_collision, "archive_duplicate_entry"),
    "1 GiB-declared bomb": (gigabyte_bomb, "archive_bomb"),
    "wrong hash": (wrong_hash, "archive_hash_mismatch"),
    "file missing": (missing_file, "archive_hash_mismatch"),
    "entry not in the manifest": (unlisted_entry, "archive_unexpected_entry"),
    "executable outside the package": (executable_outside, "manifest_invalid"),
    "entry leaving the package": (parent_executable, "manifest_invalid"),
    "shell metacharacters in entry": (shell_metacharacters, "manifest_invalid"),
    "built-in plugin id": (shadows_builtin, "package_shadows_builtin"),
    "not a zip": (not_a_zip, "archive_invalid"),
}
