"""Checking a package's payload against its manifest without installing it: every entry
through ``mimolo.safe_zip`` (names, types, caps, bombs) into a scratch folder that is
removed afterwards, every file's bytes against its manifest hash, none missing, none extra."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from mimolo.errors import ArchiveHashMismatch
from mimolo.packages.signing import RawPackage
from mimolo.safe_zip import ZipLimits, check_members, extract_checked, open_zip


def expected_entries(raw: RawPackage) -> dict[str, tuple[str, int]]:
    """Archive name -> (sha256, bytes) for every entry the package may hold."""
    top = raw.manifest.plugin_id
    out = {f"{top}/{path}": (e.sha256, e.bytes) for path, e in raw.manifest.files.items()}
    out[f"{top}/manifest.json"] = (
        hashlib.sha256(raw.manifest_bytes).hexdigest(),
        len(raw.manifest_bytes),
    )
    if raw.signature is not None:
        out[f"{top}/manifest.sig"] = (hashlib.sha256(raw.signature).hexdigest(), len(raw.signature))
    return out


def check_payload(zip_path: Path, raw: RawPackage, limits: ZipLimits | None = None) -> int:
    """The payload's total bytes when every file matches the manifest; else the
    ``UnsafeArchiveError`` subclass saying what does not (``archive_hash_mismatch`` for a
    changed or missing file, ``archive_unexpected_entry`` for one the manifest lacks)."""
    expected = expected_entries(raw)
    limits = limits or ZipLimits(allowed=frozenset(expected))
    with open_zip(zip_path) as zf, tempfile.TemporaryDirectory(prefix="mimolo-verify-") as tmp:
        members = check_members(zf, limits)
        written = extract_checked(zf, members, Path(tmp), expected, limits)
    missing = sorted(set(expected) - {f.name for f in written})
    if missing:
        raise ArchiveHashMismatch(f"{missing[0]} is in the manifest but not in the package")
    return sum(f.bytes for f in written)


__all__ = ["check_payload", "expected_entries"]
