"""The backup's ``manifest.json``: every file with its bytes, hash and mode, and the
ledger's state at the moment of the snapshot (each day file's length, the last seq and
hash, whether the copied chain verified)."""

from __future__ import annotations

from typing import Final

import msgspec

FORMAT: Final = "mimolo-backup"
VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"


class FileEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One file of the data root, as copied (``path`` is relative and POSIX)."""

    path: str
    bytes: int
    sha256: str
    mode: int
    mtime_ns: int = 0


class LedgerFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ledger file and the length it was copied at (up to its last complete line)."""

    path: str
    bytes: int


class LedgerState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the snapshot's chain said when verified right after copying."""

    files: list[LedgerFile]
    last_seq: int | None
    last_hash: str | None
    records: int
    key_id: str | None
    verified: bool
    problems: list[str] = []


class BackupManifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    format: str
    version: int
    created: str
    mimolo_version: str
    host: str
    files: list[FileEntry]
    ledger: LedgerState
    skipped: list[str] = []

    @property
    def total_bytes(self) -> int:
        return sum(entry.bytes for entry in self.files)


def encode_manifest(manifest: BackupManifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=1) + b"\n"


def decode_manifest(raw: bytes) -> BackupManifest:
    """The manifest, or ValueError saying why it is not one of ours."""
    try:
        manifest = msgspec.json.decode(raw, type=BackupManifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"manifest.json is not a MiMoLo backup manifest: {exc}") from None
    if manifest.format != FORMAT:
        raise ValueError(f"manifest.json names format {manifest.format!r}, not {FORMAT!r}")
    if manifest.version != VERSION:
        raise ValueError(f"backup format version {manifest.version} is not supported")
    return manifest


__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "VERSION",
    "BackupManifest",
    "FileEntry",
    "LedgerFile",
    "LedgerState",
    "decode_manifest",
    "encode_manifest",
]
