"""End to end: real ``mimolo ops`` with agents whose heartbeats carry 256 KiB of metrics.

Five such agents used to make every ``get_agent_states`` answer exceed the 1 MiB bound, so
``mimolo status`` and ``mimolo instances list`` crashed; now they print normally.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control._live import OpsProcess, short_data_root, wait_for
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError
from mimolo.ipc import request_pages_sync

pytestmark = pytest.mark.slow

AGENT = Path(__file__).parent / "agents" / "big_metrics.py"
INSTANCES = [f"big-{n}" for n in range(5)]


def write_setup(root: DataRoot) -> Path:
    templates = root.root.parent / "templates"
    templates.mkdir(mode=0o700)
    spec = {
        "plugin_id": "big_metrics",
        "label": "Big metrics test agent",
        "version": "1.0.0",
        "argv": [sys.executable, str(AGENT)],
        "params": [{"name": "metrics_bytes", "type": "int", "default": 256 * 1024}],
    }
    (templates / "big_metrics.json").write_text(json.dumps(spec))
    lines = [
        "[settings]",
        "heartbeat_interval_s = 0.5",
        "max_line_bytes = 1048576",  # let the 256 KiB heartbeats through to the supervisor
        "stop_grace_s = 3.0",
    ]
    for iid in INSTANCES:
        lines += ["", f"[instances.{iid}]", 'template = "big_metrics"', f'label = "{iid}"']
    root.config_path.write_text("\n".join(lines) + "\n")
    os.chmod(root.config_path, 0o600)
    return templates


@pytest.fixture
def ops() -> Iterator[DataRoot]:
    with short_data_root() as root:
        process = OpsProcess(root, extra_templates=write_setup(root))
        try:
            process.start()
            yield root
        finally:
            process.stop()


def live_agents(root: DataRoot) -> dict[str, dict[str, Any]]:
    try:
        data = request_pages_sync(root.socket_path, "get_agent_states", "agents", timeout=10)
    except IpcError:
        return {}
    return {a["instance_id"]: a for a in data["agents"]}


def heartbeats_seen(root: DataRoot) -> bool:
    agents = live_agents(root)
    return all(
        agents.get(iid, {}).get("state") == "running"
        and agents[iid].get("last_heartbeat_at")
        and agents[iid].get("metrics", {}).get("_truncated") is True
        for iid in INSTANCES
    )


def mimolo(root: DataRoot, *args: str) -> Result:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*args, "--data-dir", str(root.root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_status_and_instances_list_print_normally(ops: DataRoot) -> None:
    wait_for(lambda: heartbeats_seen(ops), "big heartbeats from every agent", timeout=60)
    status = mimolo(ops, "status")
    assert status.exit_code == 0, status.output
    assert "Operations is running" in status.stdout
    assert "unavailable" not in status.stdout
    assert all(iid in status.stdout for iid in INSTANCES)
    assert "snapshot of" not in status.stdout  # the live answer, not the fallback
    listed = mimolo(ops, "instances", "list")
    assert listed.exit_code == 0, listed.output
    assert all(iid in listed.stdout for iid in INSTANCES)
    assert listed.stdout.count("running") >= len(INSTANCES)
    as_json = json.loads(mimolo(ops, "status", "--json").stdout)
    assert as_json["source"] == "live" and as_json["live_error"] is None
    assert isinstance(as_json["diagnostics_dropped"], int)
    assert isinstance(as_json["containment"], str)
