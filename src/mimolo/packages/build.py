"""``build_package``: a source folder with ``mimolo-package.toml`` (every manifest field but
``files``) becomes a deterministic zip: ``<plugin_id>/manifest.json`` then the payload in
sorted order, the manifest's ``files`` computed from the tree. Same tree, same bytes."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec

from mimolo.errors import ManifestInvalid, PackageError
from mimolo.packages.archive import atomic_zip, write_bytes, write_stream
from mimolo.packages.manifest import (
    FORMAT,
    FileEntry,
    PackageManifest,
    canonical_manifest_bytes,
    package_hash,
    validate_manifest,
)
from mimolo.packages.paths import check_relpath

SOURCE_FILE: Final = "mimolo-package.toml"
SKIPPED_DIRS: Final = frozenset({"__pycache__", ".git", ".hg", ".svn"})
SKIPPED_SUFFIXES: Final = (".pyc", ".pyo")


class SourceFile(NamedTuple):
    relpath: str
    path: Path
    entry: FileEntry


class BuiltPackage(NamedTuple):
    path: Path
    package_hash: str
    manifest: PackageManifest


def _hash_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def scan_tree(src_dir: Path, *, skip: Path | None = None) -> list[SourceFile]:
    """Every payload file under ``src_dir`` in sorted order, hashed. Symlinks and special
    files are refused (a package holds plain files only)."""
    found: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(src_dir, followlinks=False):
        here = Path(dirpath)
        for name in list(dirnames):
            if name in SKIPPED_DIRS:
                dirnames.remove(name)
            elif (here / name).is_symlink():
                raise PackageError(f"{here / name}: symlinks cannot be packaged")
        for name in filenames:
            path = here / name
            relpath = path.relative_to(src_dir).as_posix()
            if relpath == SOURCE_FILE or name.endswith(SKIPPED_SUFFIXES):
                continue
            if (
                skip is not None
                and path.parent == skip.parent
                and name.startswith(f".{skip.name}.")
            ):
                continue  # our own temp output
            if skip is not None and path == skip:
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                raise PackageError(
                    f"{path}: only plain files can be packaged (no links or devices)"
                )
            check_relpath(relpath, f"files.{relpath}")
            executable = bool(info.st_mode & stat.S_IXUSR)
            found.append(
                SourceFile(relpath, path, FileEntry(_hash_file(path), info.st_size, executable))
            )
    return sorted(found, key=lambda f: f.relpath)


def read_source(src_dir: Path) -> dict[str, Any]:
    """The manifest fields of ``mimolo-package.toml`` (``files`` is computed, never given)."""
    path = src_dir / SOURCE_FILE
    try:
        fields = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(
            f"{src_dir}: no {SOURCE_FILE} (the package's name, version, entry…)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestInvalid(f"{path}: not UTF-8 TOML: {exc}") from None
    if "files" in fields:
        raise ManifestInvalid(
            f"{path}: files is computed from the folder; remove it", field="files"
        )
    fields.setdefault("format", FORMAT)
    return fields


def manifest_for(fields: dict[str, Any], files: list[SourceFile]) -> PackageManifest:
    try:
        manifest = msgspec.convert(
            {**fields, "files": {f.relpath: f.entry for f in files}}, type=PackageManifest
        )
    except msgspec.ValidationError as exc:
        raise ManifestInvalid(f"{SOURCE_FILE}: {exc}") from None
    return validate_manifest(manifest)


def build_package(src_dir: Path, out: Path) -> BuiltPackage:
    """Pack ``src_dir`` into ``out`` (replaced atomically); unsigned (see ``sign_package``)."""
    src_dir = src_dir.absolute()
    out = out.absolute()
    if not src_dir.is_dir():
        raise PackageError(f"{src_dir}: not a folder")
    fields = read_source(src_dir)
    files = scan_tree(src_dir, skip=out)
    manifest = manifest_for(fields, files)
    top = manifest.plugin_id
    with atomic_zip(out) as zf:
        write_bytes(zf, f"{top}/manifest.json", canonical_manifest_bytes(manifest))
        for source in files:
            with source.path.open("rb") as handle:
                write_stream(
                    zf,
                    f"{top}/{source.relpath}",
                    handle,
                    source.entry.bytes,
                    executable=source.entry.executable,
                )
    return BuiltPackage(out, package_hash(manifest), manifest)


__all__ = [
    "SOURCE_FILE",
    "BuiltPackage",
    "SourceFile",
    "build_package",
    "manifest_for",
    "read_source",
    "scan_tree",
]
