"""Data roots for the backup tests: a real ledger (through ``operations.ledger``), a
config, artifacts, packages, trust, and the run-time files a backup must leave out."""

from __future__ import annotations

import hashlib
import os
import socket
import zipfile
from datetime import date
from pathlib import Path

import msgspec

from evidence._ledgers import write_days
from mimolo.backup.manifest import MANIFEST_NAME, decode_manifest, encode_manifest
from mimolo.dataroot import DataRoot, write_atomic

CONFIG = b"[settings]\nheartbeat_interval_s = 1.0\n\n[instances]\n"
ARTIFACT = "agents/screen_tracker/screen-1/artifacts/2026/03/01/shot-0001.png"


def private_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    write_atomic(path, data)
    os.chmod(path, mode)


def build_root(root: DataRoot) -> DataRoot:
    """A stopped data root with something of every kind."""
    root.ensure()
    write_days(root, days=3, per_day=10)
    private_file(root.config_path, CONFIG)
    private_file(root.state_path, b'{"instances": []}\n')
    private_file(
        root.diagnostics_file(date(2026, 3, 1)),
        b'{"kind":"audit","n":1}\n{"kind":"log","n":2}\n{"kind":"tor',  # torn: being written
    )
    private_file(root.operations_dir / "review" / "adjustments.jsonl", b'{"id":"adj-1"}\n')
    private_file(root.root / ARTIFACT, b"\x89PNG" + bytes(range(256)) * 40)
    private_file(
        root.root / "agents/screen_tracker/screen-1/index/inventory.json", b'{"cache": true}'
    )
    private_file(root.packages_dir / "demo_agent/1.0.0/agent.py", b"print('hi')\n", 0o700)
    private_file(root.trust_dir / "keys" / "vendor.pub", b"-----BEGIN PUBLIC KEY-----\n")
    # what a backup leaves out
    private_file(root.lock_path, b"12345\n")
    private_file(root.operations_dir / "containment.json", b'{"pids": []}')
    private_file(root.logs_dir / "operations.log", b"log line\n")
    private_file(root.control_dir / "cache" / "timeline" / "x.tlcache", b"cache")
    private_file(root.operations_dir / ".state.json.999.tmp", b"half")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root.socket_path))
    sock.close()
    os.symlink("/etc/passwd", root.agents_dir / "link-out")
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_zip(
    src: Path, dest: Path, *, change: dict[str, bytes] | None = None, fix_manifest: bool = False
) -> None:
    """Copy a backup, replacing some members' bytes; with ``fix_manifest`` the manifest's
    hashes are updated to match (a consistent forgery)."""
    change = change or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        manifest = decode_manifest(zin.read(MANIFEST_NAME))
        for info in zin.infolist():
            if info.filename == MANIFEST_NAME:
                continue
            zout.writestr(info, change.get(info.filename, zin.read(info)))
        if fix_manifest:
            files = [
                msgspec.structs.replace(
                    e,
                    sha256=hashlib.sha256(change[e.path]).hexdigest(),
                    bytes=len(change[e.path]),
                )
                if e.path in change
                else e
                for e in manifest.files
            ]
            manifest = msgspec.structs.replace(manifest, files=files)
        zout.writestr(MANIFEST_NAME, encode_manifest(manifest))
