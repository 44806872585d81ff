"""Back up a (stopped) data root and restore it: what goes in, what stays out, how each
file is read, owner-only modes, and a restored ledger that verifies."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence._ledgers import run_verify
from mimolo.backup import make_backup, restore_backup
from mimolo.backup.manifest import MANIFEST_NAME, decode_manifest
from mimolo.dataroot import DataRoot
from mimolo.errors import BackupError

from ._roots import ARTIFACT, build_root, sha


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mbak-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def source(work: Path) -> DataRoot:
    return build_root(DataRoot(work / "root"))


class Recorder:
    def __init__(self) -> None:
        self.total = -1
        self.done = 0

    def start(self, total_bytes: int) -> None:
        self.total = total_bytes

    def advance(self, n: int) -> None:
        self.done += n


def test_backup_takes_the_data_and_leaves_the_run_time_files(source: DataRoot, work: Path) -> None:
    bar = Recorder()
    manifest = make_backup(source, work / "b.zip", progress=bar)
    paths = {e.path for e in manifest.files}
    assert "operations/agent_config.toml" in paths
    assert "operations/state.json" in paths
    assert "operations/review/adjustments.jsonl" in paths
    assert ARTIFACT in paths
    assert "packages/demo_agent/1.0.0/agent.py" in paths
    assert {"trust/host_ed25519", "trust/host_ed25519.pub", "trust/keys/vendor.pub"} <= paths
    assert {"operations/evidence/2026/20260301.evidence.jsonl"} <= paths
    assert "operations/evidence/2026/20260303.checkpoint.json" in paths
    for left_out in (
        "operations/ops.sock",
        "operations/ops.lock",
        "operations/containment.json",
        "logs/operations.log",
        "control/cache/timeline/x.tlcache",
        "operations/.state.json.999.tmp",
        "agents/screen_tracker/screen-1/index/inventory.json",
        "agents/link-out",
    ):
        assert left_out not in paths
    assert manifest.skipped == ["agents/link-out: a symbolic link"]
    assert manifest.ledger.verified and manifest.ledger.last_seq == 30
    assert [f.path for f in manifest.ledger.files] == [
        f"operations/evidence/2026/2026030{d}.evidence.jsonl" for d in (1, 2, 3)
    ]
    assert bar.done == manifest.total_bytes and bar.total >= bar.done
    assert stat.S_IMODE((work / "b.zip").stat().st_mode) == 0o600
    assert not [p for p in work.iterdir() if p.name.startswith(".")]  # no staging, no temp


def test_a_json_lines_file_is_copied_up_to_its_last_complete_line(
    source: DataRoot, work: Path
) -> None:
    manifest = make_backup(source, work / "b.zip")
    rel = "operations/diagnostics/20260301.diagnostics.jsonl"
    with zipfile.ZipFile(work / "b.zip") as zf:
        assert zf.read(rel) == b'{"kind":"audit","n":1}\n{"kind":"log","n":2}\n'
        entry = next(e for e in manifest.files if e.path == rel)
        assert entry.bytes == len(zf.read(rel))
        assert decode_manifest(zf.read(MANIFEST_NAME)) == manifest


def test_restore_into_an_absent_folder_gives_the_same_files_and_a_verifying_chain(
    source: DataRoot, work: Path
) -> None:
    manifest = make_backup(source, work / "b.zip")
    bar = Recorder()
    result = restore_backup(work / "b.zip", work / "new" / "root", progress=bar)
    target = work / "new" / "root"
    assert result.report.ok and result.report.last_seq == 30
    assert bar.done == bar.total == manifest.total_bytes
    for entry in manifest.files:
        restored = target / entry.path
        assert sha(restored) == entry.sha256
        assert stat.S_IMODE(restored.stat().st_mode) == (entry.mode & 0o700) | 0o600
        assert restored.stat().st_mtime_ns == entry.mtime_ns
        if not entry.path.endswith(".jsonl"):
            assert restored.read_bytes() == (source.root / entry.path).read_bytes()
    assert stat.S_IMODE((target / "packages/demo_agent/1.0.0/agent.py").stat().st_mode) == 0o700
    for directory in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not (target / "operations" / "ops.sock").exists()
    assert run_verify(DataRoot(target)).ok
    assert sorted(p.name for p in (work / "new").iterdir()) == ["root"]


def test_restore_into_an_empty_existing_folder(source: DataRoot, work: Path) -> None:
    make_backup(source, work / "b.zip")
    (work / "empty").mkdir()
    restore_backup(work / "b.zip", work / "empty")
    assert (work / "empty" / "operations" / "agent_config.toml").exists()


def _blocker_file(target: Path) -> None:
    target.mkdir()
    (target / "x").write_bytes(b"mine")


def _blocker_dir(target: Path) -> None:
    (target / "operations").mkdir(parents=True)


def _blocker_is_file(target: Path) -> None:
    target.write_bytes(b"a file")


def _blocker_link(target: Path) -> None:
    target.parent.joinpath("elsewhere").mkdir()
    target.symlink_to(target.parent / "elsewhere")


@pytest.mark.parametrize(
    "make_blocker", [_blocker_file, _blocker_dir, _blocker_is_file, _blocker_link]
)
def test_restore_refuses_a_target_that_is_not_an_empty_folder(
    source: DataRoot, work: Path, make_blocker: object
) -> None:
    make_backup(source, work / "b.zip")
    target = work / "target"
    assert callable(make_blocker)
    make_blocker(target)
    before = sorted(str(p) for p in work.rglob("*"))
    with pytest.raises(BackupError) as err:
        restore_backup(work / "b.zip", target)
    assert err.value.code == "restore_target_not_empty"
    assert sorted(str(p) for p in work.rglob("*")) == before


def test_backup_refuses_to_overwrite_or_to_write_inside_the_root(
    source: DataRoot, work: Path
) -> None:
    (work / "exists.zip").write_bytes(b"keep me")
    with pytest.raises(BackupError) as err:
        make_backup(source, work / "exists.zip")
    assert err.value.code == "backup_destination_exists"
    assert (work / "exists.zip").read_bytes() == b"keep me"
    with pytest.raises(BackupError) as err:
        make_backup(source, source.root / "agents" / "b.zip")
    assert err.value.code == "backup_inside_root"
    with pytest.raises(BackupError) as err:
        make_backup(DataRoot(work / "nothing"), work / "b.zip")
    assert err.value.code == "backup_source_missing"
    assert not (work / "b.zip").exists()


class Interrupt(Recorder):
    """Fails once half the bytes are in, as a full disk or a Ctrl-C would."""

    def advance(self, n: int) -> None:
        super().advance(n)
        if self.done > self.total // 2:
            raise OSError(28, "No space left on device")


def test_a_failed_backup_leaves_no_file_behind(source: DataRoot, work: Path) -> None:
    with pytest.raises(OSError, match="No space left"):
        make_backup(source, work / "b.zip", progress=Interrupt())
    assert sorted(p.name for p in work.iterdir()) == ["root"]


def test_a_fifo_is_listed_as_skipped_and_never_opened(source: DataRoot, work: Path) -> None:
    os.mkfifo(source.root / ARTIFACT.replace("shot-0001.png", "pipe"))
    manifest = make_backup(source, work / "b.zip")
    assert f"{ARTIFACT.replace('shot-0001.png', 'pipe')}: not a regular file" in manifest.skipped
