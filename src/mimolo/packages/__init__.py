"""Agent packages (DESIGN §9): the manifest, the deterministic packer, Ed25519 signing, the
signed allowlist and the trust policy. Pure format and crypto (layer 1): installing is
Operations' (``mimolo.operations``), which alone writes ``packages/`` and ``trust/``."""

from mimolo.packages.build import BuiltPackage, build_package
from mimolo.packages.manifest import (
    FileEntry,
    PackageManifest,
    canonical_manifest_bytes,
    decode_manifest,
    package_hash,
)
from mimolo.packages.signing import (
    RawPackage,
    generate_key,
    key_id,
    read_package,
    sign_package,
    verify_signature,
)

__all__ = [
    "BuiltPackage",
    "FileEntry",
    "PackageManifest",
    "RawPackage",
    "build_package",
    "canonical_manifest_bytes",
    "decode_manifest",
    "generate_key",
    "key_id",
    "package_hash",
    "read_package",
    "sign_package",
    "verify_signature",
]
