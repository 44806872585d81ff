"""``mimolo ops`` and ``mimolo status`` as real processes: the singleton lock, live and
snapshot status, clean SIGTERM, and SIGKILL leaving no agent behind and a ledger the
next start recovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from click.testing import CliRunner, Result

from control._live import EXAMPLE_CONFIG, OpsProcess, running_ops, short_data_root, wait_for
from mimolo.cli import cli
from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.operations.jsonl_files import quarantine_path

pytestmark = pytest.mark.slow


@pytest.fixture
def root() -> Iterator[DataRoot]:
    with short_data_root() as root:
        yield root


def status(root: DataRoot, *args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(
        cli, ["status", "--data-dir", str(root.root), *args]
    )


def status_json(root: DataRoot) -> dict[str, Any]:
    result = status(root, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def agent_pids(root: DataRoot) -> dict[str, int]:
    view = status_json(root)
    return {a["instance_id"]: a["pid"] for a in view["snapshot"]["instances"] if a["pid"]}


def all_running(root: DataRoot) -> bool:
    view = status_json(root)
    instances = view["snapshot"]["instances"] if view["snapshot"] else []
    return len(instances) == 2 and all(a["state"] == "running" for a in instances)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def evidence_lines(root: DataRoot) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(root.evidence_dir.rglob("*.evidence.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def run_ops(root: DataRoot) -> subprocess.CompletedProcess[str]:
    """``mimolo ops`` in the foreground until it exits by itself."""
    return subprocess.run(
        [sys.executable, "-m", "mimolo", "ops"],
        env={**os.environ, ENV_DATA_DIR: str(root.root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_without_operations_says_so(root: DataRoot) -> None:
    result = status(root)
    assert result.exit_code == 0, result.output
    assert "Operations is not running" in result.stdout
    view = status_json(root)
    assert view["running"] is False and view["snapshot"] is None


def test_status_is_live_while_running_and_from_the_snapshot_after(root: DataRoot) -> None:
    with running_ops(root) as ops:
        wait_for(lambda: all_running(root), "both example agents to run")
        view = status_json(root)
        assert view["running"] is True and view["source"] == "live"
        assert ops.proc is not None and view["pid"] == ops.proc.pid
        by_id = {a["instance_id"]: a for a in view["snapshot"]["instances"]}
        assert set(by_id) == {"example-a", "example-b"}
        assert by_id["example-a"]["plugin_id"] == "agent_example"
        table = status(root)
        assert "Operations is running" in table.stdout
        assert "example-a" in table.stdout and "running" in table.stdout
        assert "snapshot of" not in table.stdout
    after = status(root)
    assert "Operations is not running" in after.stdout
    assert "last snapshot from" in after.stdout
    stopped = status_json(root)
    assert stopped["source"] == "snapshot"
    assert {a["state"] for a in stopped["snapshot"]["instances"]} == {"stopped"}


def test_a_second_operations_is_refused_naming_the_pid(root: DataRoot) -> None:
    with running_ops(root) as ops:
        assert ops.proc is not None
        second = run_ops(root)
        assert second.returncode == 1
        assert str(ops.proc.pid) in second.stdout
        assert ops.proc.poll() is None  # the first one is untouched


def test_sigterm_stops_every_agent_and_keeps_their_final_summaries(root: DataRoot) -> None:
    with running_ops(root) as ops:
        wait_for(lambda: all_running(root), "both example agents to run")
        pids = agent_pids(root)
        before = len(evidence_lines(root))
        assert ops.proc is not None
        ops.proc.send_signal(signal.SIGTERM)
        assert ops.proc.wait(timeout=60) == 0
        assert not [pid for pid in pids.values() if alive(pid)]
        records = evidence_lines(root)
        # the stop sequence flushes each agent: its final summary reached the ledger
        finals = {r["instance_id"] for r in records[before:]}
        assert finals == {"example-a", "example-b"}
        assert all(r["record"]["type"] == "summary" for r in records)


def test_sigkill_leaves_no_agent_and_the_next_start_recovers_the_ledger(root: DataRoot) -> None:
    root.config_path.write_text(EXAMPLE_CONFIG)
    ops = OpsProcess(root).start()
    try:
        wait_for(lambda: all_running(root), "both example agents to run")
        wait_for(lambda: bool(evidence_lines(root)), "a first summary in the ledger")
        pids = agent_pids(root)
        assert ops.proc is not None
        ops.proc.send_signal(signal.SIGKILL)  # Operations alone, not its process group
        ops.proc.wait(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in pids.values()), "agents to exit")

        (ledger,) = sorted(root.evidence_dir.rglob("*.evidence.jsonl"))
        kept = ledger.read_bytes()
        last_seq = json.loads(kept.splitlines()[-1])["seq"]
        torn = b'{"seq": 99999, "record": {"type": "summ'
        with ledger.open("ab") as fh:
            fh.write(torn)  # what a crash in the middle of a write leaves

        ops.start()
        wait_for(lambda: all_running(root), "the agents to run again")
        assert quarantine_path(ledger).read_bytes() == torn + b"\n"  # kept, one line
        assert ledger.read_bytes().startswith(kept)
        wait_for(lambda: evidence_lines(root)[-1]["seq"] > last_seq, "a new summary after recovery")
        seqs = [r["seq"] for r in evidence_lines(root)]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert seqs[seqs.index(last_seq) + 1] == last_seq + 1
    finally:
        ops.stop()


def test_a_control_socket_that_cannot_be_served_fails_the_run(root: DataRoot) -> None:
    root.config_path.write_text(EXAMPLE_CONFIG)
    root.socket_path.write_text("not a socket")  # something else owns the path
    result = run_ops(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "control_socket_service failed" in result.stdout
    assert "Operations stopped." not in result.stdout
    assert root.socket_path.read_text() == "not a socket"  # never removed behind our back
    assert status_json(root)["running"] is False
