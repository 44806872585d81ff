"""The data root's private directories: every level created is owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mimolo.dataroot import ensure_private_dir, open_private, write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_missing_ancestor_is_created_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        tmp_path.chmod(0o755)
        leaf = ensure_private_dir(tmp_path / "agents" / "plugin" / "instance")
    finally:
        os.umask(old)
    assert leaf.is_dir()
    for path in (leaf, leaf.parent, leaf.parent.parent):
        assert mode(path) == 0o700, path
    assert mode(tmp_path) == 0o755  # an existing ancestor is left as it was


def test_an_existing_directory_is_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    ensure_private_dir(loose)
    assert mode(loose) == 0o700


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError):
        ensure_private_dir(tmp_path / "taken")


def test_a_file_written_into_a_users_folder_leaves_the_folder_alone(tmp_path: Path) -> None:
    shared = tmp_path / "Desktop"
    shared.mkdir()
    shared.chmod(0o1777)
    write_atomic(shared / "pack.zip", b"data")
    os.close(open_private(shared / "log.jsonl"))
    assert mode(shared) == 0o1777  # an exported file never tightens /tmp or ~/Desktop
    assert mode(shared / "pack.zip") == mode(shared / "log.jsonl") == 0o600
    write_atomic(tmp_path / "new" / "deep" / "file", b"x")
    assert mode(tmp_path / "new") == mode(tmp_path / "new" / "deep") == 0o700
