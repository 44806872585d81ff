"""End to end: the capture pause through a real ``mimolo ops`` and a capturing agent.

``mimolo pause`` reaches the agent (it logs from its hooks), the pause "until resumed"
survives a restart of Operations and reaches the new agent process right after its
handshake, ``mimolo resume`` ends it, the audit trail is on disk, the summaries of the
paused windows captured nothing, and the timeline shows the gap as paused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control._live import OpsProcess, short_data_root, wait_for
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc.client import request_sync
from mimolo.timeline.pauses import paused_spans, read_capture_audits
from operations.harness import ledger_records

pytestmark = pytest.mark.slow

AGENT = Path(__file__).resolve().parents[1] / "sdk" / "capture_agent.py"
CONFIG = """\
[settings]
heartbeat_interval_s = 1.0
agent_flush_interval_s = 1.0
stop_grace_s = 3.0

[instances.probe]
template = "capture_probe"
label = "Capture probe"
"""


def write_setup(root: DataRoot) -> Path:
    templates = root.root.parent / "templates"
    templates.mkdir(mode=0o700)
    spec = {
        "plugin_id": "capture_probe",
        "label": "Capturing test agent",
        "version": "1.0.0",
        "argv": [sys.executable, str(AGENT)],
    }
    (templates / "capture_probe.json").write_text(json.dumps(spec))
    root.config_path.write_text(CONFIG)
    os.chmod(root.config_path, 0o600)
    return templates


@pytest.fixture
def setup() -> Iterator[tuple[DataRoot, Path]]:
    with short_data_root() as root:
        yield root, write_setup(root)


def mimolo(root: DataRoot, *args: str) -> Result:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*args, "--data-dir", str(root.root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def diagnostics(root: DataRoot) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(root.diagnostics_dir.glob("*.diagnostics.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
    return out


def agent_logs(root: DataRoot, message: str) -> list[dict[str, Any]]:
    return [
        r
        for r in diagnostics(root)
        if r.get("kind") == "log"
        and r.get("instance_id") == "probe"
        and r.get("message") == message
    ]


def probe_running(root: DataRoot) -> bool:
    states = request_sync(root.socket_path, "get_agent_states", timeout=10)["agents"]
    return any(s["instance_id"] == "probe" and s["state"] == "running" for s in states)


def summaries(root: DataRoot) -> list[dict[str, Any]]:
    return [r["record"]["data"] for r in ledger_records(root) if r["instance_id"] == "probe"]


def test_pause_survives_a_restart_reaches_the_agent_and_resumes(
    setup: tuple[DataRoot, Path],
) -> None:
    root, templates = setup
    ops = OpsProcess(root, extra_templates=templates)
    try:
        ops.start()
        wait_for(lambda: probe_running(root), "the capturing agent to run")
        bad = [
            mimolo(root, "pause", "--minutes", "0"),
            mimolo(root, "pause", "--minutes", "99999"),
            mimolo(root, "pause", "--minutes", "soon"),
        ]
        assert all(r.exit_code == 2 and "--minutes" in r.output for r in bad)
        for minutes in (0, 99999, "15"):
            with pytest.raises(RemoteError) as info:
                request_sync(root.socket_path, "pause_capture", minutes=minutes, timeout=10)
            assert (info.value.code, info.value.field) == ("invalid_field", "minutes")
        timed = json.loads(mimolo(root, "pause", "--minutes", "30", "--json").stdout)
        assert timed["paused"] and timed["agents"] == {"probe": "acked"} and timed["by"] == "cli"
        forever = mimolo(root, "pause")
        assert forever.exit_code == 0 and "paused until resumed" in forever.stdout
        wait_for(lambda: len(agent_logs(root, "capture paused")) >= 2, "the agent's hook logs")
        assert agent_logs(root, "capture paused")[0]["extra"]["until"] is not None
        ops.stop()

        state = json.loads((root.operations_dir / "capture_pause.json").read_text())
        assert state["paused"] and state["until"] is None and state["by"] == "cli"
        assert (root.operations_dir / "capture_pause.json").stat().st_mode & 0o777 == 0o600

        ops.start()
        status = request_sync(root.socket_path, "get_status", timeout=10)
        assert status["capture_pause"]["paused"] and status["capture_pause"]["until"] is None
        assert status["capture_pause"]["since"] == timed["since"]
        # the new process hears of the pause right after its handshake, unasked
        wait_for(lambda: len(agent_logs(root, "capture paused")) >= 3, "the pause after restart")
        wait_for(
            lambda: any(d["paused_s"] > 0 and d["captured"] == 0 for d in summaries(root)),
            "a wholly paused summary window",
        )
        resumed = mimolo(root, "resume")
        assert resumed.exit_code == 0 and "no pause in force" in resumed.stdout
        assert "1 capturing agent(s) acknowledged" in resumed.stdout
        wait_for(lambda: bool(agent_logs(root, "capture resumed")), "the agent's resume hook")
        wait_for(lambda: any(d["captured"] > 0 for d in summaries(root)[-3:]), "capture again")
        status = request_sync(root.socket_path, "get_status", timeout=10)
        assert status["capture_pause"]["paused"] is False
    finally:
        ops.stop()

    audits = [r for r in diagnostics(root) if r.get("kind") == "audit"]
    trail = [(r["action"], r.get("via")) for r in audits if "capture" in r["action"]]
    assert trail == [("pause_capture", "cli"), ("pause_capture", "cli"), ("resume_capture", "cli")]
    now = datetime.now(UTC)
    spans = paused_spans(
        read_capture_audits(root, now - timedelta(hours=1), now),
        now - timedelta(hours=1),
        now,
        now=now,
    )
    assert len(spans) == 1 and not spans[0].ongoing and spans[0].duration_s > 0
