"""``manifest.json`` (DESIGN §9): the package's identity, its argv entry, its declared
parameters and every payload file with its hash. Decoded strictly; the package hash is the
SHA-256 of the canonical bytes (sorted keys, compact), which is also what is signed."""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal

import msgspec

from mimolo.errors import ConfigError, ManifestInvalid
from mimolo.packages.paths import RESERVED, check_arg, check_relpath
from mimolo.packages.versions import is_version, parse_range
from mimolo.protocol.params import Param, coerce_value
from mimolo.slugs import LABEL_MAX, is_slug

FORMAT: Final = 1
MAX_MANIFEST_BYTES: Final = 1024 * 1024
MAX_FILES: Final = 10_000
MAX_FILE_BYTES: Final = 1 << 40
MAX_ENTRY_ARGS: Final = 64
MAX_CAPABILITIES: Final = 64
MAX_PARAMS: Final = 100
MAX_DESCRIPTION: Final = 4000
INTERPRETERS: Final = frozenset({"python3", "sh", "node"})
"""Interpreters an entry may start with (looked up by Operations, never on the package's
say-so); the next element is then the package-relative script."""

_HEX = frozenset("0123456789abcdef")


class FileEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One payload file: its SHA-256 (lowercase hex), size, and whether it is executable
    (extraction sets 0755 from this signed flag, never from the zip's attributes)."""

    sha256: str
    bytes: int
    executable: bool = False


class ManifestParam(Param, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A ``Param`` read strictly from a manifest (an unknown key is an error, not lost)."""


class PackageManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The validated manifest. ``entry`` is an argv list relative to the package folder."""

    format: int
    plugin_id: str
    version: str
    label: str
    description: str = ""
    entry: list[str]
    protocol: str
    capabilities: list[str] = []
    activity_mode: Literal["active", "passive"] = "passive"
    params: list[ManifestParam] = []
    files: dict[str, FileEntry]

    def executable_path(self) -> str:
        """The package-relative file the entry runs (the script after an interpreter)."""
        return self.entry[1] if self.entry[0] in INTERPRETERS else self.entry[0]


def _bad(field: str, message: str) -> ManifestInvalid:
    return ManifestInvalid(f"{field}: {message}", field=field)


def _field_of(error: msgspec.ValidationError) -> str | None:
    """``files.a.sha256`` from msgspec's ``... - at `$.files['a'].sha256```."""
    text = str(error)
    marker = " - at `$"
    if marker not in text:
        return None
    path = text.split(marker, 1)[1].rstrip("`")
    path = re.sub(r"\['([^']*)'\]", r".\1", path.replace("[...]", ""))
    return path.strip(".") or None


def _check_identity(m: PackageManifest) -> None:
    if m.format != FORMAT:
        raise _bad("format", f"this MiMoLo reads package format {FORMAT}, not {m.format}")
    if not is_slug(m.plugin_id):
        raise _bad("plugin_id", f"{m.plugin_id!r} is not a slug (a-z, 0-9, '-', '_')")
    if not is_version(m.version):
        raise _bad("version", f"{m.version!r} is not a semantic version (such as 1.2.3)")
    if not m.label.strip() or len(m.label) > LABEL_MAX or not m.label.isprintable():
        raise _bad("label", f"must be printable, non-empty, at most {LABEL_MAX} characters")
    if len(m.description) > MAX_DESCRIPTION or "\x00" in m.description:
        raise _bad("description", f"at most {MAX_DESCRIPTION} characters, no NUL")
    try:
        parse_range(m.protocol)
    except ValueError as exc:
        raise _bad("protocol", str(exc)) from None
    if len(m.capabilities) > MAX_CAPABILITIES or len(set(m.capabilities)) != len(m.capabilities):
        raise _bad("capabilities", f"at most {MAX_CAPABILITIES}, each named once")
    for i, cap in enumerate(m.capabilities):
        if not is_slug(cap):
            raise _bad(f"capabilities[{i}]", f"{cap!r} is not a slug")


def _check_files(m: PackageManifest) -> None:
    if not m.files:
        raise _bad("files", "a package carries at least the file its entry runs")
    if len(m.files) > MAX_FILES:
        raise _bad("files", f"at most {MAX_FILES} files")
    folded: dict[str, str] = {}
    for path, entry in m.files.items():
        field = f"files.{path}"
        check_relpath(path, field)
        if path in RESERVED:
            raise _bad(field, "is the package's own file, not payload")
        other = folded.setdefault(path.casefold(), path)
        if other != path:
            raise _bad(field, f"collides with {other!r} when case is ignored")
        if len(entry.sha256) != 64 or not set(entry.sha256) <= _HEX:
            raise _bad(f"{field}.sha256", "must be 64 lowercase hex digits")
        if not 0 <= entry.bytes <= MAX_FILE_BYTES:
            raise _bad(f"{field}.bytes", f"must be between 0 and {MAX_FILE_BYTES}")
    for path in m.files:
        parts = path.split("/")
        for cut in range(1, len(parts)):
            if "/".join(parts[:cut]) in m.files:
                raise _bad(f"files.{path}", "lies under a path that is itself a file")


def _check_entry(m: PackageManifest) -> None:
    if not m.entry or len(m.entry) > MAX_ENTRY_ARGS:
        raise _bad("entry", f"an argv list of 1 to {MAX_ENTRY_ARGS} elements")
    for i, arg in enumerate(m.entry):
        check_arg(arg, f"entry[{i}]")
    if m.entry[0] in INTERPRETERS:
        if len(m.entry) < 2:
            raise _bad("entry[1]", f"{m.entry[0]} needs the package-relative script it runs")
        script = check_relpath(m.entry[1], "entry[1]")
        if script not in m.files:
            raise _bad("entry[1]", f"{script!r} is not a file of the package")
        return
    program = check_relpath(m.entry[0], "entry[0]")
    if program not in m.files:
        allowed = ", ".join(sorted(INTERPRETERS))
        raise _bad(
            "entry[0]",
            f"{program!r} is not a file of the package (an entry runs a packaged file, "
            f"or one of {allowed} with a packaged script)",
        )
    if not m.files[program].executable:
        raise _bad("entry[0]", f"{program!r} is not marked executable in files")


def _check_params(m: PackageManifest) -> None:
    if len(m.params) > MAX_PARAMS:
        raise _bad("params", f"at most {MAX_PARAMS} parameters")
    seen: set[str] = set()
    for i, param in enumerate(m.params):
        field = f"params[{i}]"
        if not param.name.isidentifier() or not param.name.isascii() or len(param.name) > 64:
            raise _bad(f"{field}.name", f"{param.name!r} is not an identifier")
        if param.name in seen:
            raise _bad(f"{field}.name", f"{param.name!r} is declared twice")
        seen.add(param.name)
        if param.type == "choice" and not param.choices:
            raise _bad(f"{field}.choices", "a choice parameter lists its choices")
        if param.default is not None:
            try:
                coerce_value(param, param.default, f"{field}.default")
            except ConfigError as exc:
                raise ManifestInvalid(exc.message, field=exc.field) from None


def validate_manifest(m: PackageManifest) -> PackageManifest:
    """``m`` if every rule holds; else ``ManifestInvalid`` naming the first field at fault."""
    _check_identity(m)
    _check_files(m)
    _check_entry(m)
    _check_params(m)
    return m


def decode_manifest(data: bytes) -> PackageManifest:
    """Decode and validate ``manifest.json``; malformed, oversized or deeply nested JSON
    is ``ManifestInvalid`` with the field msgspec names."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"manifest.json is over {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = msgspec.json.decode(data, type=PackageManifest)
    except msgspec.ValidationError as exc:
        field = _field_of(exc)
        raise ManifestInvalid(f"manifest.json: {exc}", field=field) from None
    except msgspec.DecodeError as exc:
        raise ManifestInvalid(f"manifest.json is not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise ManifestInvalid("manifest.json is nested too deeply") from None
    return validate_manifest(manifest)


def canonical_manifest_bytes(m: PackageManifest) -> bytes:
    """The signed bytes: every field, keys sorted, no whitespace, UTF-8."""
    return msgspec.json.encode(m, order="sorted")


def package_hash(m: PackageManifest) -> str:
    """The package's identity in the allowlist: SHA-256 hex of the canonical manifest."""
    return hashlib.sha256(canonical_manifest_bytes(m)).hexdigest()


__all__ = [
    "FORMAT",
    "INTERPRETERS",
    "MAX_MANIFEST_BYTES",
    "FileEntry",
    "ManifestParam",
    "PackageManifest",
    "canonical_manifest_bytes",
    "decode_manifest",
    "package_hash",
    "validate_manifest",
]
