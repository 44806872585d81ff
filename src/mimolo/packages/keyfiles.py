"""Signing keys on disk: the private key PEM (0600, never overwritten, refused when others
can read it) and its public half beside it as ``<name>.pub``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mimolo.dataroot import ensure_private_dir, open_private
from mimolo.errors import KeyInvalid
from mimolo.packages.signing import load_private_key, private_pem, public_pem, public_raw


def public_path_for(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def _write_new(path: Path, data: bytes) -> None:
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        raise KeyInvalid(f"{path} exists; a key file is never overwritten") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_key_pair(private: Ed25519PrivateKey, path: Path) -> tuple[Path, Path]:
    """Write ``path`` (private, 0600) and ``path.pub`` (public); neither may exist."""
    pub = public_path_for(path)
    if path.exists() or pub.exists():
        raise KeyInvalid(f"{path} or {pub} exists; a key file is never overwritten")
    ensure_private_dir(path.parent)
    _write_new(path, private_pem(private))
    _write_new(pub, public_pem(public_raw(private)))
    return path, pub


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path``; refused when the file is readable by group or others."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyInvalid(f"{path}: cannot be read ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyInvalid(f"{path}: a private key must be readable by you only (chmod 600)")
    return load_private_key(data, str(path))


__all__ = ["public_path_for", "read_private_key", "write_key_pair"]
