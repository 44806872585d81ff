"""Ed25519 keys and package signatures: ``manifest.sig`` is ``{key_id, signature}`` (base64
Ed25519 over the canonical manifest bytes). Reading a package touches only its manifest and
signature entries, each size-capped; the payload is the installer's (``mimolo.safe_zip``)."""

from __future__ import annotations

import base64
import binascii
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final, NamedTuple

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from mimolo.errors import (
    KeyInvalid,
    KeyUntrusted,
    ManifestInvalid,
    PackageUnreadable,
    SignatureInvalid,
    SignatureMissing,
)
from mimolo.packages.archive import atomic_zip, is_executable, write_bytes, write_stream
from mimolo.packages.manifest import (
    MAX_MANIFEST_BYTES,
    PackageManifest,
    canonical_manifest_bytes,
    decode_manifest,
    package_hash,
)
from mimolo.protocol.chain import key_id

MAX_SIG_BYTES: Final = 4096
KEY_ID_RE: Final = re.compile(r"^[0-9a-f]{16}$")


class PackageSignature(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key_id: str
    signature: str


class RawPackage(NamedTuple):
    """A package's manifest (validated), its bytes as stored, and ``manifest.sig``'s bytes
    (None when absent; decoded only by ``verify_signature``)."""

    manifest: PackageManifest
    manifest_bytes: bytes
    signature: bytes | None

    @property
    def package_hash(self) -> str:
        return package_hash(self.manifest)


# ---- keys ------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_raw(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def private_pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(raw: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(data: bytes, where: str = "key") -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (unencrypted PKCS#8), or ``KeyInvalid``."""
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyInvalid(f"{where}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyInvalid(f"{where}: not an Ed25519 private key")
    return loaded


def load_public_key(data: bytes, where: str = "key") -> bytes:
    """The raw 32 bytes of an Ed25519 public key in PEM, or ``KeyInvalid``."""
    if b"PRIVATE KEY" in data:
        raise KeyInvalid(f"{where}: this is a private key; give its public half (.pub)")
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyInvalid(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyInvalid(f"{where}: not an Ed25519 public key")
    return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_bytes(private: Ed25519PrivateKey, data: bytes) -> str:
    return base64.b64encode(private.sign(data)).decode()


def signature_valid(raw_public: bytes, signature: str, data: bytes) -> bool:
    try:
        sig = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(raw_public).verify(sig, data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# ---- reading and signing packages ------------------------------------------------------


def _top_folder(zf: zipfile.ZipFile, where: Path) -> str:
    tops = {name.split("/", 1)[0] for name in zf.namelist()}
    manifests = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/manifest.json")]
    if len(manifests) != 1 or len(tops) != 1:
        raise PackageUnreadable(
            f"{where}: a package holds one folder named after its plugin_id, with "
            "manifest.json in it"
        )
    return manifests[0].split("/", 1)[0]


def _read_capped(zf: zipfile.ZipFile, name: str, cap: int, where: Path) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > cap:
        raise PackageUnreadable(f"{where}: {name} is over {cap} bytes")
    try:
        with zf.open(info) as handle:
            data = handle.read(cap + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise PackageUnreadable(f"{where}: {name} cannot be read ({exc})") from None
    if len(data) > cap:
        raise PackageUnreadable(f"{where}: {name} is over {cap} bytes")
    return data


def read_package(zip_path: Path) -> RawPackage:
    """The manifest and signature of a package, without touching its payload."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            top = _top_folder(zf, zip_path)
            manifest_bytes = _read_capped(zf, f"{top}/manifest.json", MAX_MANIFEST_BYTES, zip_path)
            sig_name = f"{top}/manifest.sig"
            names = set(zf.namelist())
            signature = (
                _read_capped(zf, sig_name, MAX_SIG_BYTES, zip_path) if sig_name in names else None
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise PackageUnreadable(f"{zip_path}: not a readable zip ({exc})") from None
    manifest = decode_manifest(manifest_bytes)
    if manifest.plugin_id != top:
        raise ManifestInvalid(
            f"plugin_id {manifest.plugin_id!r} is not the package's folder {top!r}",
            field="plugin_id",
        )
    return RawPackage(manifest, manifest_bytes, signature)


def signature_document(manifest: PackageManifest, private: Ed25519PrivateKey) -> bytes:
    """``manifest.sig``'s bytes (Ed25519 is deterministic, so these are too)."""
    doc = PackageSignature(
        key_id(public_raw(private)), sign_bytes(private, canonical_manifest_bytes(manifest))
    )
    return msgspec.json.encode(doc, order="sorted")


def sign_package(pkg_path: Path, private: Ed25519PrivateKey, out: Path | None = None) -> RawPackage:
    """Write ``out`` (default: over ``pkg_path``) with ``manifest.sig`` added or replaced;
    every other entry is copied as is, in order, with the fixed timestamps and modes."""
    raw = read_package(pkg_path)
    top = raw.manifest.plugin_id
    sig = signature_document(raw.manifest, private)
    target = (out or pkg_path).absolute()
    with zipfile.ZipFile(pkg_path) as source, atomic_zip(target) as zf:
        for info in source.infolist():
            if info.filename == f"{top}/manifest.sig" or info.is_dir():
                continue
            with source.open(info) as handle:
                write_stream(
                    zf, info.filename, handle, info.file_size, executable=is_executable(info)
                )
            if info.filename == f"{top}/manifest.json":
                write_bytes(zf, f"{top}/manifest.sig", sig)
    return RawPackage(raw.manifest, raw.manifest_bytes, sig)


def decode_signature(data: bytes) -> PackageSignature:
    """``manifest.sig`` decoded, or ``SignatureInvalid`` saying what is wrong with it."""
    try:
        doc = msgspec.json.decode(data, type=PackageSignature)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SignatureInvalid(f"manifest.sig is not {{key_id, signature}}: {exc}") from None
    if KEY_ID_RE.fullmatch(doc.key_id) is None:
        raise SignatureInvalid("manifest.sig: key_id is not 16 hex digits", field="key_id")
    return doc


def signer_of(raw: RawPackage) -> str | None:
    """The key id the signature claims (unverified), for display; None if absent or bad."""
    if raw.signature is None:
        return None
    try:
        return decode_signature(raw.signature).key_id
    except SignatureInvalid:
        return None


def verify_signature(raw: RawPackage, trusted: Mapping[str, bytes]) -> str:
    """The signer's key id when ``manifest.sig`` is a valid signature of the canonical
    manifest by a trusted key; else ``SignatureMissing``, ``SignatureInvalid`` or
    ``KeyUntrusted``."""
    if raw.signature is None:
        raise SignatureMissing(f"{raw.manifest.plugin_id} {raw.manifest.version} is not signed")
    doc = decode_signature(raw.signature)
    public = trusted.get(doc.key_id)
    if public is None:
        raise KeyUntrusted(
            f"{raw.manifest.plugin_id} {raw.manifest.version} is signed by key {doc.key_id}, "
            "which this data root does not trust (mimolo keys trust PUB)"
        )
    if not signature_valid(public, doc.signature, canonical_manifest_bytes(raw.manifest)):
        raise SignatureInvalid(
            f"the signature of {raw.manifest.plugin_id} {raw.manifest.version} does not verify "
            f"with key {doc.key_id} (the manifest was changed after signing, or the "
            "signature is corrupt)"
        )
    return doc.key_id


__all__ = [
    "KEY_ID_RE",
    "MAX_SIG_BYTES",
    "PackageSignature",
    "RawPackage",
    "decode_signature",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "private_pem",
    "public_pem",
    "public_raw",
    "read_package",
    "sign_bytes",
    "sign_package",
    "signature_document",
    "signature_valid",
    "signer_of",
    "verify_signature",
]
