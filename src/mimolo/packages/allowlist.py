"""The signed allowlist: ``{format, version, entries: [{plugin_id, version, package_hash}],
key_id, signature}``. The signature (base64 Ed25519) covers the canonical bytes of every
field but ``signature``; ``version`` only ever grows (TUF's rollback rule, enforced by
``policy.accept_allowlist``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mimolo.errors import AllowlistInvalid, KeyUntrusted, SignatureInvalid
from mimolo.packages.signing import (
    KEY_ID_RE,
    key_id,
    public_raw,
    sign_bytes,
    signature_valid,
)
from mimolo.packages.versions import is_version
from mimolo.slugs import is_slug

FORMAT: Final = 1
MAX_ENTRIES: Final = 10_000
MAX_ALLOWLIST_BYTES: Final = 4 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")


class AllowlistEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    plugin_id: str
    version: str
    package_hash: str


class Allowlist(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A decoded allowlist (verified only when it came from ``verify_allowlist``)."""

    format: int = FORMAT
    version: int
    entries: list[AllowlistEntry]
    key_id: str
    signature: str

    def entry_for(self, plugin_id: str, version: str) -> AllowlistEntry | None:
        for entry in self.entries:
            if entry.plugin_id == plugin_id and entry.version == version:
                return entry
        return None

    def to_dict(self) -> dict[str, Any]:
        out = msgspec.to_builtins(self)
        assert isinstance(out, dict)
        return out


def signed_bytes(doc: Allowlist) -> bytes:
    """What the signature covers: every field but ``signature``, sorted, compact."""
    fields = msgspec.to_builtins(doc)
    del fields["signature"]
    return msgspec.json.encode(fields, order="sorted")


def encode_allowlist(doc: Allowlist) -> bytes:
    return msgspec.json.encode(doc, order="sorted")


def check_entries(entries: Iterable[AllowlistEntry]) -> list[AllowlistEntry]:
    """Entries validated and in canonical order, each ``(plugin_id, version)`` once."""
    out = sorted(entries, key=lambda e: (e.plugin_id, e.version))
    if len(out) > MAX_ENTRIES:
        raise AllowlistInvalid(f"at most {MAX_ENTRIES} entries", field="entries")
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(out):
        where = f"entries[{i}]"
        if not is_slug(entry.plugin_id):
            raise AllowlistInvalid(f"{where}: {entry.plugin_id!r} is not a plugin id", field=where)
        if not is_version(entry.version):
            raise AllowlistInvalid(f"{where}: {entry.version!r} is not semver", field=where)
        if len(entry.package_hash) != 64 or not set(entry.package_hash) <= _HEX:
            raise AllowlistInvalid(f"{where}: package_hash is not 64 lowercase hex", field=where)
        if (entry.plugin_id, entry.version) in seen:
            raise AllowlistInvalid(
                f"{where}: {entry.plugin_id} {entry.version} is listed twice", field=where
            )
        seen.add((entry.plugin_id, entry.version))
    return out


def sign_allowlist(
    version: int, entries: Iterable[AllowlistEntry], private: Ed25519PrivateKey
) -> Allowlist:
    """A signed allowlist of ``entries`` at ``version`` (deterministic)."""
    if not 1 <= version < 2**53:
        raise AllowlistInvalid("version must be a positive integer", field="version")
    unsigned = Allowlist(
        version=version,
        entries=check_entries(entries),
        key_id=key_id(public_raw(private)),
        signature="",
    )
    return msgspec.structs.replace(unsigned, signature=sign_bytes(private, signed_bytes(unsigned)))


def decode_allowlist(doc: bytes | Mapping[str, Any] | Allowlist) -> Allowlist:
    """An allowlist from JSON bytes, a decoded object or a struct; ``AllowlistInvalid``
    naming the field when it is malformed. The signature is not checked here."""
    try:
        if isinstance(doc, Allowlist):
            decoded = doc
        elif isinstance(doc, bytes):
            if len(doc) > MAX_ALLOWLIST_BYTES:
                raise AllowlistInvalid(f"an allowlist is at most {MAX_ALLOWLIST_BYTES} bytes")
            decoded = msgspec.json.decode(doc, type=Allowlist)
        else:
            decoded = msgspec.convert(doc, type=Allowlist)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise AllowlistInvalid(f"not an allowlist: {exc}") from None
    except RecursionError:
        raise AllowlistInvalid("not an allowlist: nested too deeply") from None
    if decoded.format != FORMAT:
        raise AllowlistInvalid(f"this MiMoLo reads allowlist format {FORMAT}", field="format")
    if not 1 <= decoded.version < 2**53:
        raise AllowlistInvalid("version must be a positive integer", field="version")
    if KEY_ID_RE.fullmatch(decoded.key_id) is None:
        raise AllowlistInvalid("key_id is not 16 hex digits", field="key_id")
    if check_entries(decoded.entries) != decoded.entries:
        raise AllowlistInvalid("entries are not in canonical order", field="entries")
    return decoded


def verify_allowlist(
    doc: bytes | Mapping[str, Any] | Allowlist, trusted: Mapping[str, bytes]
) -> Allowlist:
    """The allowlist when it is well formed and signed by a trusted key; else
    ``AllowlistInvalid``, ``KeyUntrusted`` or ``SignatureInvalid``."""
    allowlist = decode_allowlist(doc)
    public = trusted.get(allowlist.key_id)
    if public is None:
        raise KeyUntrusted(
            f"the allowlist (version {allowlist.version}) is signed by key "
            f"{allowlist.key_id}, which this data root does not trust"
        )
    if not signature_valid(public, allowlist.signature, signed_bytes(allowlist)):
        raise SignatureInvalid(
            f"the allowlist's signature (version {allowlist.version}) does not verify with "
            f"key {allowlist.key_id}"
        )
    return allowlist


__all__ = [
    "FORMAT",
    "MAX_ENTRIES",
    "Allowlist",
    "AllowlistEntry",
    "check_entries",
    "decode_allowlist",
    "encode_allowlist",
    "sign_allowlist",
    "signed_bytes",
    "verify_allowlist",
]
