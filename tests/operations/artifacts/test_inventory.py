"""The inventory on real trees: totals, classes, warnings, and the index that makes it fast."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.operations.artifacts.inventory import (
    INDEX_NAME,
    Inventory,
    WarnLimits,
    files_of,
    summarize,
    take_inventory,
)

from ._tree import DAY1, DAY2, DAY3, INSTANCE, PLUGIN, instance_dir, put, sample_tree


def later() -> int:
    """A "now" after every folder the test made, past the racy window (taken at each call:
    a module-level constant goes stale in a long suite and makes every folder racy)."""
    return time.time_ns() + 10 * 10**9


def _inventory(
    instance: Path, limits: WarnLimits | None = None, now_ns: int | None = None
) -> Inventory:
    now_ns = later() if now_ns is None else now_ns
    index, changed = take_inventory(instance, now_ns=now_ns)
    return summarize(
        index,
        plugin_id=PLUGIN,
        instance_id=INSTANCE,
        limits=limits or WarnLimits(),
        now_ns=now_ns,
        changed_dirs=changed,
    )


def test_totals_and_classes(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    files = sample_tree(instance)
    inv = _inventory(instance)
    assert inv.total_files == len(files)
    assert inv.total_bytes == sum(len(b) for b in files.values())
    assert inv.oldest == "2026-11-01T12:00:00Z" and inv.newest == "2026-11-03T12:00:00Z"
    by_class = {c.retention_class: c for c in inv.classes}
    assert set(by_class) == {"2026", "default"}
    assert by_class["default"].files == 1 and by_class["default"].oldest == DAY3_ISO
    assert by_class["2026"].files == 4
    assert inv.warnings == []


DAY3_ISO = DAY3.isoformat().replace("+00:00", "Z")


def test_warnings_past_each_threshold(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    now_ns = int(DAY3.timestamp() * 1e9) + 40 * 86_400 * 10**9
    inv = _inventory(instance, WarnLimits(bytes=1000, files=2, age_days=30), now_ns)
    assert [w.code for w in inv.warnings] == [
        "artifact_bytes_over",
        "artifact_files_over",
        "artifact_age_over",
    ]
    assert _inventory(instance, WarnLimits(), now_ns).warnings == []  # 0 = never


def test_an_unchanged_tree_lists_no_folder_again(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    assert _inventory(instance).changed_dirs > 0
    index_path = instance / "index" / INDEX_NAME
    assert stat.S_IMODE(index_path.stat().st_mode) == 0o600
    before = index_path.stat().st_mtime_ns
    assert _inventory(instance).changed_dirs == 0
    assert index_path.stat().st_mtime_ns == before  # nothing changed: not rewritten


def test_a_new_file_relists_only_its_folder(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    _inventory(instance)
    put(instance, "2026/11/02/e.png", b"new", DAY2)
    folder = instance / "artifacts/2026/11/02"
    old_ns = int(DAY2.timestamp() * 1e9)
    os.utime(folder, ns=(old_ns, old_ns))  # a folder mtime the index has not seen
    inv = _inventory(instance)
    assert inv.changed_dirs == 1
    assert inv.total_files == 6


def test_a_deleted_folder_and_file_drop_out(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    _inventory(instance)
    (instance / "artifacts/2026/11/03/d.png").unlink()
    (instance / "artifacts/2026/11/03").rmdir()
    inv = _inventory(instance)
    assert inv.total_files == 4
    assert inv.newest == DAY3_ISO  # notes.txt is still from day 3


def test_a_folder_changed_in_the_racy_window_is_listed_again(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    fresh_ns = (instance / "artifacts").stat().st_mtime_ns + 10**8
    assert _inventory(instance, now_ns=fresh_ns).changed_dirs > 0
    # the same tick might hide a change: those folders are listed once more
    assert _inventory(instance, now_ns=fresh_ns + 10**8).changed_dirs > 0
    assert _inventory(instance).changed_dirs > 0
    assert _inventory(instance).changed_dirs == 0


def test_links_and_work_in_progress_are_not_counted(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x" * 100)
    (instance / "artifacts" / "linked").symlink_to(outside)
    (instance / "artifacts" / "link.png").symlink_to(outside / "secret.png")
    put(instance, "2026/11/01/.a.png.123.tmp", b"half", DAY1)
    inv = _inventory(instance)
    assert inv.total_files == 5
    index, _ = take_inventory(instance, now_ns=later())
    assert not any("secret" in f.rel_path or f.rel_path.endswith(".tmp") for f in files_of(index))


def test_no_artifacts_yet(tmp_path: Path) -> None:
    inv = _inventory(instance_dir(DataRoot(tmp_path)))
    assert (inv.total_files, inv.total_bytes, inv.oldest, inv.classes) == (0, 0, None, [])


def test_a_torn_index_is_rebuilt(tmp_path: Path) -> None:
    instance = instance_dir(DataRoot(tmp_path))
    sample_tree(instance)
    _inventory(instance)
    (instance / "index" / INDEX_NAME).write_bytes(b'{"version": 1, "dirs": {"": [1')
    inv = _inventory(instance)
    assert inv.total_files == 5 and inv.changed_dirs > 0
