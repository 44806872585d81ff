"""Operations' own Ed25519 host key: created on first run under ``trust/`` (0600), it signs
the ledger's checkpoints (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mimolo.dataroot import DataRoot, ensure_private_dir, write_atomic
from mimolo.errors import LedgerError
from mimolo.protocol.chain import key_id

PRIVATE_NAME = "host_ed25519"
PUBLIC_NAME = "host_ed25519.pub"


@dataclass(frozen=True)
class HostKey:
    private: Ed25519PrivateKey
    public_raw: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)


def _raw(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def public_pem(public_raw: bytes) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), as evidence packs carry it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(public_raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_or_create_host_key(data_root: DataRoot) -> HostKey:
    """The host key of this data root, made (and its public half written) on first use."""
    path = data_root.trust_dir / PRIVATE_NAME
    ensure_private_dir(data_root.trust_dir)
    if path.exists():
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as exc:
            raise LedgerError(f"{path}: not a readable Ed25519 private key: {exc}") from exc
        if not isinstance(loaded, Ed25519PrivateKey):
            raise LedgerError(f"{path}: not an Ed25519 private key")
        private = loaded
    else:
        private = Ed25519PrivateKey.generate()
        write_atomic(
            path,
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    key = HostKey(private, _raw(private))
    pub = data_root.trust_dir / PUBLIC_NAME
    pem = public_pem(key.public_raw)
    if not pub.exists() or pub.read_bytes() != pem:
        write_atomic(pub, pem)
    return key


def host_public_key_path(data_root: DataRoot) -> Path:
    return data_root.trust_dir / PUBLIC_NAME


__all__ = [
    "PRIVATE_NAME",
    "PUBLIC_NAME",
    "HostKey",
    "host_public_key_path",
    "load_or_create_host_key",
    "public_pem",
]
