"""Hostile archives put in an instance's ``archives/``: each refused, nothing written."""

from __future__ import annotations

import hashlib
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.artifacts.service import ArtifactService

from ._tree import INSTANCE, PLUGIN, instance_dir, sample_tree, snapshot

ARCHIVE_ID = "20261126_screen_tracker_shots"
Member = tuple[str | zipfile.ZipInfo, bytes]


def _entry(rel_path: str, body: bytes, sha: str | None = None) -> dict[str, object]:
    return {
        "rel_path": rel_path,
        "sha256": sha or hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
        "mtime": "2026-11-01T12:00:00Z",
        "mtime_ns": 1_793_534_400_000_000_000,
    }


def _manifest(entries: list[dict[str, object]], **over: object) -> bytes:
    doc: dict[str, object] = {
        "plugin_id": PLUGIN,
        "instance_id": INSTANCE,
        "created": "2026-11-26T00:00:00Z",
        "range": {"start": None, "end": None},
        "oldest": None,
        "newest": None,
        "files": len(entries),
        "bytes": 0,
        "entries": entries,
        "restore": {},
        **over,
    }
    return msgspec.json.encode(doc)


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


BODY = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
ZEROS = b"\0" * (16 << 20)


def _plain(rel: str, body: bytes = BODY) -> tuple[list[Member], list[dict[str, object]]]:
    return [(f"artifacts/{rel}", body)], [_entry(rel, body)]


CASES: dict[str, tuple[Callable[[], tuple[list[Member], list[dict[str, object]]]], str]] = {
    "zip-slip in the manifest": (lambda: _plain("../../../evil.png"), "unsafe_archive_path"),
    "zip-slip member": (
        lambda: ([("artifacts/../../evil.png", BODY)], [_entry("x.png", BODY)]),
        "unsafe_archive_path",
    ),
    "absolute member": (
        lambda: ([("/tmp/evil.png", BODY)], [_entry("x.png", BODY)]),
        "unsafe_archive_path",
    ),
    "symlink entry": (
        lambda: ([(_link("artifacts/x.png"), b"/etc/passwd")], [_entry("x.png", b"/etc/passwd")]),
        "archive_entry_type",
    ),
    "wrong hash": (
        lambda: ([("artifacts/x.png", BODY)], [_entry("x.png", BODY, sha="0" * 64)]),
        "archive_hash_mismatch",
    ),
    "manifest entry missing from the zip": (
        lambda: ([], [_entry("x.png", BODY)]),
        "archive_hash_mismatch",
    ),
    "entry outside the instance's artifacts": (
        lambda: (
            [("artifacts/x.png", BODY), ("index/.inventory.json", b"{}")],
            [_entry("x.png", BODY)],
        ),
        "archive_unexpected_entry",
    ),
    "another instance's subtree": (
        lambda: (
            [("artifacts/x.png", BODY), ("../other/artifacts/x.png", BODY)],
            [_entry("x.png", BODY)],
        ),
        "unsafe_archive_path",
    ),
    "duplicate names": (
        lambda: (
            [("artifacts/x.png", BODY), ("artifacts/x.png", BODY)],
            [_entry("x.png", BODY)],
        ),
        "archive_duplicate_entry",
    ),
    "case-colliding names": (
        lambda: (
            [("artifacts/X.png", BODY), ("artifacts/x.png", BODY)],
            [_entry("X.png", BODY), _entry("x.png", BODY)],
        ),
        "archive_duplicate_entry",
    ),
    "duplicate manifest entries": (
        lambda: ([("artifacts/x.png", BODY)], [_entry("x.png", BODY), _entry("x.png", BODY)]),
        "archive_duplicate_entry",
    ),
    "bomb": (lambda: _plain("zeros.png", ZEROS), "archive_bomb"),
}


def _write(path: Path, members: list[Member], manifest: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the duplicate-name cases
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, body in members:
                zf.writestr(name, body)
            zf.writestr("manifest.json", manifest)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("on_conflict", ["report", "overwrite"])
def test_hostile_archives_are_refused_with_nothing_written(
    tmp_path: Path, case: str, on_conflict: str
) -> None:
    root = DataRoot(tmp_path / "root")
    svc = ArtifactService(root)
    instance = instance_dir(root)
    sample_tree(instance)
    (instance / "archives").mkdir(mode=0o700)
    build, code = CASES[case]
    members, entries = build()
    _write(instance / "archives" / f"{ARCHIVE_ID}.zip", members, _manifest(entries))
    before = snapshot(instance)
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(MimoloError) as caught:
        svc.restore(PLUGIN, INSTANCE, ARCHIVE_ID, on_conflict)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value.message
    assert snapshot(instance) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert sorted(p.name for p in (instance / "archives").iterdir()) == [f"{ARCHIVE_ID}.zip"]
    assert not (tmp_path / "evil.png").exists() and not (instance.parent / "evil.png").exists()


def test_a_manifest_that_is_not_ours_is_archive_invalid(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "root")
    instance = instance_dir(root)
    (instance / "archives").mkdir(mode=0o700, parents=True)
    _write(instance / "archives" / f"{ARCHIVE_ID}.zip", [], b'{"hello": "world"}')
    with pytest.raises(MimoloError) as caught:
        ArtifactService(root).restore(PLUGIN, INSTANCE, ARCHIVE_ID, "report")
    assert caught.value.code == "archive_invalid"


def test_a_truncated_archive_is_archive_invalid(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "root")
    instance = instance_dir(root)
    (instance / "archives").mkdir(mode=0o700, parents=True)
    members, entries = _plain("x.png")
    path = instance / "archives" / f"{ARCHIVE_ID}.zip"
    _write(path, members, _manifest(entries))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(MimoloError) as caught:
        ArtifactService(root).restore(PLUGIN, INSTANCE, ARCHIVE_ID, "report")
    assert caught.value.code == "archive_invalid"
