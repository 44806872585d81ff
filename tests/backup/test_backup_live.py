"""Back up a RUNNING Operations (agents writing evidence, an artifact writer busy) and
restore it into an empty root: the same files, a chain that verifies, and an Operations
started on the restored root continues the seq where the backup ended."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from control._live import OpsProcess, running_ops, short_data_root, wait_for
from evidence._ledgers import run_verify
from mimolo.backup import make_backup, restore_backup
from mimolo.cli import cli
from mimolo.dataroot import DataRoot

pytestmark = pytest.mark.slow

ARTIFACTS = "agents/agent_example/example-a/artifacts"


def seqs(root: DataRoot) -> list[int]:
    out = []
    for path in sorted(root.evidence_dir.glob("*/*.evidence.jsonl")):
        for line in path.read_bytes().splitlines():
            out.append(int(json.loads(line)["seq"]))
    return out


class ArtifactWriter:
    """Writes numbered files into an instance's artifacts until stopped, as an agent would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stop = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self.run, name="artifact-writer")

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        while not self.stop.is_set():
            path = self.folder / f"shot-{self.written:05d}.bin"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            for _ in range(4):
                os.write(fd, os.urandom(16 * 1024))
            os.close(fd)
            self.written += 1
            self.stop.wait(0.005)

    def __enter__(self) -> ArtifactWriter:
        self.thread.start()
        wait_for(lambda: self.written >= 5, "the artifact writer to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture
def live_root() -> Iterator[DataRoot]:
    with short_data_root() as root:
        yield root


def test_backup_of_a_running_operations_restores_and_continues_the_seq(
    live_root: DataRoot,
) -> None:
    root = live_root
    restored = DataRoot(root.root.parent / "restored")
    with running_ops(root):
        wait_for(lambda: len(seqs(root)) >= 3, "agents to write evidence")
        with ArtifactWriter(root.root / ARTIFACTS) as writer:
            manifest = make_backup(root, root.root.parent / "live.zip")
            assert writer.written > 5
        assert manifest.ledger.verified, manifest.ledger.problems
        last = manifest.ledger.last_seq
        assert last is not None and last >= 3
        result = restore_backup(root.root.parent / "live.zip", restored.root)
        assert result.report.ok and result.report.last_seq == last
        # the restored files are those of the snapshot
        for entry in manifest.files:
            original = root.root / entry.path
            copy = (restored.root / entry.path).read_bytes()
            if entry.path.endswith(".jsonl"):
                assert original.read_bytes().startswith(copy)  # the live file only grew
            elif entry.path.startswith(ARTIFACTS) or entry.path.startswith("trust/"):
                assert copy == original.read_bytes()
        shots = [e for e in manifest.files if e.path.startswith(ARTIFACTS)]
        assert len(shots) >= 5
        assert seqs(restored) == list(range(1, last + 1))
        assert not restored.socket_path.exists() and not restored.lock_path.exists()
    # Operations on the restored root picks the chain up where the backup ended
    ops = OpsProcess(restored).start()
    try:
        wait_for(lambda: len(seqs(restored)) >= last + 2, "the restored root's agents to write")
    finally:
        ops.stop()
    assert seqs(restored)[: last + 2] == list(range(1, last + 3))
    report = run_verify(restored)
    assert report.ok, report.problems
    assert report.last_seq is not None and report.last_seq >= last + 2


def test_cli_backup_and_restore(live_root: DataRoot) -> None:
    root = live_root
    runner = CliRunner()
    with running_ops(root):
        wait_for(lambda: len(seqs(root)) >= 1, "agents to write evidence")
        dest = root.root.parent / "cli.zip"
        done = runner.invoke(cli, ["backup", "--to", str(dest), "--data-dir", str(root.root)])
    assert done.exit_code == 0, done.output
    assert "the copied chain verifies" in done.output
    assert "private key" in done.output
    again = runner.invoke(cli, ["backup", "--to", str(dest), "--data-dir", str(root.root)])
    assert again.exit_code == 1 and "[backup_destination_exists]" in again.output
    target = root.root.parent / "cli-restored"
    done = runner.invoke(cli, ["restore", str(dest), "--data-dir", str(target)])
    assert done.exit_code == 0, done.output
    assert "every file matched its sha256" in done.output
    assert "the chain verifies" in done.output
    refused = runner.invoke(cli, ["restore", str(dest), "--data-dir", str(target)])
    assert refused.exit_code == 1 and "[restore_target_not_empty]" in refused.output
