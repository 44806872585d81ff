"""``mimolo templates|instances|agents`` and ``ops stop`` against a real ``mimolo ops``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from control._live import OpsProcess, wait_for
from mimolo.cli import cli
from mimolo.cli.ipc_call import live_status
from mimolo.dataroot import DataRoot

WIDE = {"COLUMNS": "250"}

CONFIG = """\
# my notes about this setup
[settings]
heartbeat_interval_s = 1.0
start_timeout_s = 20.0
stop_grace_s = 5.0

[instances.desk]  # the one on my desk
template = "agent_example"
label = "Desk"

[instances.desk.params]
mode = "active"
"""


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(tmp_path / "r").ensure()
    root.config_path.write_text(CONFIG)
    return root


@pytest.fixture
def ops(root: DataRoot) -> Iterator[OpsProcess]:
    process = OpsProcess(root)
    try:
        yield process.start()
    finally:
        process.stop()


def run(root: DataRoot, *args: str) -> Result:
    return CliRunner(env=WIDE).invoke(cli, [*args, "--data-dir", str(root.root)])


def run_json(root: DataRoot, *args: str) -> dict[str, Any]:
    result = run(root, *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.slow
def test_instances_round_trip_and_survive_a_restart(root: DataRoot, ops: OpsProcess) -> None:
    listed = run_json(root, "instances", "list")["instances"]
    assert [i["instance_id"] for i in listed] == ["desk"]

    added = run_json(
        root, "instances", "add", "agent_example", "mode=passive", "seed=4", "--label", "ACME Corp"
    )
    assert added["instance_id"] == "acme-corp"
    assert added["config"]["params"]["seed"] == 4

    table = run(root, "instances", "list")
    assert table.exit_code == 0
    assert "acme-corp" in table.stdout and "ACME Corp" in table.stdout

    changed = run_json(root, "instances", "set", "acme-corp", "activity_probability=0.5")
    assert changed["changed"] == ["params"]
    assert changed["restarted"] is True

    copy = run_json(root, "instances", "duplicate", "acme-corp", "--label", "ACME Two")
    assert copy["instance_id"] == "acme-two"
    assert run_json(root, "instances", "disable", "acme-two")["state"]["state"] == "stopped"
    removed = run(root, "instances", "remove", "acme-two", "--yes")
    assert removed.exit_code == 0, removed.output

    flushed = run(root, "agents", "flush", "--all")
    assert flushed.exit_code == 0, flushed.output
    assert "desk" in flushed.stdout

    live = live_status(root.root)
    assert live.error is None and live.agents is not None
    assert {a["instance_id"] for a in live.agents} == {"desk", "acme-corp"}

    stopped = run(root, "ops", "stop")
    assert stopped.exit_code == 0, stopped.output
    assert "Operations stopped" in stopped.stdout
    assert ops.proc is not None
    assert ops.proc.wait(timeout=30) == 0
    gone = live_status(root.root)
    assert gone.status is None and gone.error and "not running" in gone.error

    text = root.config_path.read_text()
    assert text.startswith("# my notes about this setup")
    assert "[instances.desk]  # the one on my desk" in text
    assert "acme-two" not in text

    ops.start()  # the edits are in the file: a new Operations runs them
    again = run_json(root, "instances", "list")["instances"]
    by_id = {i["instance_id"]: i for i in again}
    assert set(by_id) == {"desk", "acme-corp"}
    assert by_id["acme-corp"]["params"]["activity_probability"] == 0.5
    wait_for(
        lambda: run_json(root, "instances", "list")["instances"][1]["state"]["state"] == "running",
        "acme-corp to run again",
    )


@pytest.mark.slow
def test_refusals_print_the_code_and_exit_1(root: DataRoot, ops: OpsProcess) -> None:
    bad = run(root, "instances", "set", "desk", "activity_probability=7")
    assert bad.exit_code == 1
    assert "config_invalid" in bad.stderr
    assert "params.activity_probability" in bad.stderr
    unknown = run(root, "agents", "restart", "nobody-here")
    assert unknown.exit_code == 1
    assert "unknown_instance" in unknown.stderr
    template = run(root, "instances", "add", "no_such_template", "--label", "X")
    assert template.exit_code == 1
    assert "unknown_template" in template.stderr
    malformed = run(root, "instances", "add", "agent_example", "novalue", "--label", "X")
    assert malformed.exit_code == 2
    assert "key=value" in malformed.output
    both = run(root, "agents", "stop")
    assert both.exit_code == 2  # neither an id nor --all


@pytest.mark.slow
def test_agents_stop_start_restart(root: DataRoot, ops: OpsProcess) -> None:
    stopped = run_json(root, "agents", "stop", "desk")
    assert stopped["state"]["state"] == "stopped"
    started = run_json(root, "agents", "start", "--all")
    assert {a["state"] for a in started["agents"]} == {"running"}
    pid = started["agents"][0]["pid"]
    restarted = run_json(root, "agents", "restart", "desk")
    assert restarted["state"]["pid"] != pid
    table = run(root, "agents", "stop", "--all")
    assert table.exit_code == 0
    assert "stopped" in table.stdout
    # restart --all restarts what runs; it does not start what the user stopped
    again = run_json(root, "agents", "restart", "--all")
    assert [a["state"] for a in again["agents"]] == ["stopped"]


def test_templates_work_without_operations(root: DataRoot) -> None:
    listed = run_json(root, "templates")
    ids = {t["plugin_id"] for t in listed["templates"]}
    assert "agent_example" in ids
    one = run(root, "templates", "agent_example")
    assert one.exit_code == 0
    assert "activity_probability" in one.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("instances", "list"),
        ("instances", "add", "agent_example", "--label", "X"),
        ("instances", "set", "desk", "seed=1"),
        ("instances", "enable", "desk"),
        ("agents", "flush", "desk"),
        ("agents", "start", "--all"),
    ],
)
def test_clear_message_and_exit_2_when_operations_is_down(
    root: DataRoot, args: tuple[str, ...]
) -> None:
    result = run(root, *args)
    assert result.exit_code == 2
    assert "Operations is not running" in result.stderr
    assert root.config_path.read_text() == CONFIG  # nothing written behind its back


def test_ops_stop_when_not_running(root: DataRoot) -> None:
    result = run(root, "ops", "stop")
    assert result.exit_code == 2
    assert "not running" in result.stderr
