"""A restore refuses what is not exactly a MiMoLo backup: other bytes than the manifest
says, a consistent forgery of the evidence, hostile zips. Nothing is left behind."""

from __future__ import annotations

import shutil
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from mimolo.backup import make_backup, restore_backup
from mimolo.backup.manifest import MANIFEST_NAME, decode_manifest, encode_manifest
from mimolo.dataroot import DataRoot
from mimolo.errors import BackupError, UnsafeArchiveError

from ._roots import ARTIFACT, build_root, rewrite_zip

DAY1 = "operations/evidence/2026/20260301.evidence.jsonl"


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mbak-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def good(work: Path) -> Path:
    root = build_root(DataRoot(work / "root"))
    make_backup(root, work / "good.zip")
    return work / "good.zip"


def refused(backup: Path, code: str, work: Path) -> None:
    target = work / "target"
    with pytest.raises((BackupError, UnsafeArchiveError)) as err:
        restore_backup(backup, target)
    assert err.value.code == code, err.value.message
    assert not target.exists()
    assert not [p for p in work.iterdir() if p.name.startswith(".target")]


def test_a_member_with_other_bytes_is_refused(good: Path, work: Path) -> None:
    rewrite_zip(good, work / "t.zip", change={ARTIFACT: b"\x89PNG not the screenshot"})
    refused(work / "t.zip", "archive_hash_mismatch", work)


def test_a_manifest_hash_that_does_not_match_is_refused(good: Path, work: Path) -> None:
    with zipfile.ZipFile(good) as zf:
        manifest = decode_manifest(zf.read(MANIFEST_NAME))
    files = [
        msgspec.structs.replace(e, sha256="0" * 64) if e.path == ARTIFACT else e
        for e in manifest.files
    ]
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(work / "m.zip", "w") as zout:
        for info in zin.infolist():
            if info.filename != MANIFEST_NAME:
                zout.writestr(info, zin.read(info))
        zout.writestr(
            MANIFEST_NAME, encode_manifest(msgspec.structs.replace(manifest, files=files))
        )
    refused(work / "m.zip", "archive_hash_mismatch", work)


def test_evidence_edited_with_the_manifest_fixed_still_fails_the_chain(
    good: Path, work: Path
) -> None:
    with zipfile.ZipFile(good) as zf:
        day = zf.read(DAY1)
    forged = day.replace(b'"client_id":"acme"', b'"client_id":"evil"', 1)
    assert forged != day
    rewrite_zip(good, work / "f.zip", change={DAY1: forged}, fix_manifest=True)
    refused(work / "f.zip", "backup_does_not_verify", work)


def test_a_truncated_ledger_with_the_manifest_fixed_is_refused(good: Path, work: Path) -> None:
    with zipfile.ZipFile(good) as zf:
        last = "operations/evidence/2026/20260303.evidence.jsonl"
        lines = zf.read(last).splitlines(keepends=True)
    rewrite_zip(good, work / "c.zip", change={last: b"".join(lines[:-2])}, fix_manifest=True)
    refused(work / "c.zip", "backup_does_not_verify", work)


def _zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]], good: Path) -> Path:
    """A zip of ``members`` plus the good backup's manifest."""
    with zipfile.ZipFile(good) as zf:
        manifest = zf.read(MANIFEST_NAME)
    with zipfile.ZipFile(path, "w") as zout, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about an exact duplicate name
        for name, data in members:
            zout.writestr(name, data)
        zout.writestr(MANIFEST_NAME, manifest)
    return path


def _all_members(good: Path) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
    with zipfile.ZipFile(good) as zf:
        return [(i, zf.read(i)) for i in zf.infolist() if i.filename != MANIFEST_NAME]


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


HOSTILE: dict[str, tuple[Callable[[Path], list[tuple[zipfile.ZipInfo | str, bytes]]], str]] = {
    "zip slip": (lambda g: [*_all_members(g), ("../evil.txt", b"x")], "unsafe_archive_path"),
    "absolute": (lambda g: [*_all_members(g), ("/tmp/evil.txt", b"x")], "unsafe_archive_path"),
    "symlink": (
        lambda g: [*_all_members(g), (_symlink("agents/l"), b"/etc")],
        "archive_entry_type",
    ),
    "not in manifest": (
        lambda g: [*_all_members(g), ("agents/extra.bin", b"x")],
        "archive_unexpected_entry",
    ),
    "duplicate by case": (
        lambda g: [*_all_members(g), ("OPERATIONS/agent_config.toml", b"x")],
        "archive_duplicate_entry",
    ),
    "exact duplicate": (
        lambda g: [*_all_members(g), ("operations/agent_config.toml", b"x")],
        "archive_duplicate_entry",
    ),
    "missing member": (
        lambda g: [m for m in _all_members(g) if getattr(m[0], "filename", m[0]) != ARTIFACT],
        "backup_invalid",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_zip_is_refused_before_anything_is_written(
    case: str, good: Path, work: Path
) -> None:
    make, code = HOSTILE[case]
    refused(_zip(work / "h.zip", make(good), good), code, work)


def test_a_manifest_naming_a_path_outside_the_root_is_refused(good: Path, work: Path) -> None:
    with zipfile.ZipFile(good) as zf:
        raw = zf.read(MANIFEST_NAME)
    evil = raw.replace(b'"path": "operations/agent_config.toml"', b'"path": "../agent_config.toml"')
    assert evil != raw
    with zipfile.ZipFile(work / "e.zip", "w") as zout:
        zout.writestr(MANIFEST_NAME, evil)
    refused(work / "e.zip", "unsafe_archive_path", work)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not a zip at all", "archive_invalid"),
        (None, "backup_invalid"),  # a zip without manifest.json
        (b'{"format": "something-else"}', "backup_invalid"),
    ],
)
def test_what_is_not_a_backup_is_refused(content: bytes | None, code: str, work: Path) -> None:
    path = work / "n.zip"
    if content is not None and not content.startswith(b"{"):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as zout:
            zout.writestr("hello.txt", b"hi")
            if content is not None:
                zout.writestr(MANIFEST_NAME, content)
    refused(path, code, work)
