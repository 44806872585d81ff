"""``mimolo agent check`` and ``mimolo agent schema`` via CliRunner and a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mimolo.cli import cli
from mimolo.protocol.schema import render_schema

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "sdk" / "broken_agents"
WIDE = {"COLUMNS": "250"}  # rich wraps table cells at the terminal width
PATIENT = ["--seconds", "0.5", "--timeout", "20"]


@pytest.mark.slow
def test_check_json_report_for_a_passing_agent() -> None:
    argv = ["agent", "check", *PATIENT, "--json", "--", sys.executable, "-m"]
    result = CliRunner(env=WIDE).invoke(cli, [*argv, "mimolo.agents.agent_template"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert {row["check"]: row["result"] for row in report["rows"]}["handshake"] == "PASS"


@pytest.mark.slow
def test_check_table_and_exit_1_for_a_broken_agent() -> None:
    args = ["agent", "check", "--seconds", "0.5", "--timeout", "8", "--"]
    args += [sys.executable, str(BROKEN / "garbage_stdout.py")]
    result = CliRunner(env=WIDE).invoke(cli, args)
    assert result.exit_code == 1
    assert "stdout" in result.output and "FAIL" in result.output
    assert "hello from a debug print" in result.output


def test_check_passes_config_and_rejects_bad_config() -> None:
    result = CliRunner(env=WIDE).invoke(cli, ["agent", "check", "--config", "[1]", "--", "true"])
    assert result.exit_code == 2
    assert "must be a JSON object" in result.output
    result = CliRunner(env=WIDE).invoke(cli, ["agent", "check", "--config", "{", "--", "true"])
    assert result.exit_code == 2 and "not JSON" in result.output


def test_check_needs_a_command() -> None:
    result = CliRunner(env=WIDE).invoke(cli, ["agent", "check"])
    assert result.exit_code == 2
    assert "COMMAND" in result.output


def test_check_rejects_out_of_range_seconds() -> None:
    result = CliRunner(env=WIDE).invoke(cli, ["agent", "check", "--seconds", "0", "--", "true"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_check_invalid_params_show_the_agent_stderr() -> None:
    args = ["agent", "check", *PATIENT, "--config", '{"mode": "bogus"}', "--"]
    result = CliRunner(env=WIDE).invoke(
        cli, [*args, sys.executable, "-m", "mimolo.agents.agent_example"]
    )
    assert result.exit_code == 1
    assert "exited with code 2" in result.output
    assert "params.mode" in result.output


def test_schema_prints_writes_and_checks(tmp_path: Path) -> None:
    runner = CliRunner(env=WIDE)
    printed = runner.invoke(cli, ["agent", "schema"])
    assert printed.exit_code == 0 and printed.output == render_schema()
    target = tmp_path / "schema.json"
    stale = runner.invoke(cli, ["agent", "schema", "--check", "--path", str(target)])
    assert stale.exit_code == 1 and "cannot read" in stale.output
    wrote = runner.invoke(cli, ["agent", "schema", "--write", "--path", str(target)])
    assert wrote.exit_code == 0 and target.read_text(encoding="utf-8") == render_schema()
    ok = runner.invoke(cli, ["agent", "schema", "--check", "--path", str(target)])
    assert ok.exit_code == 0 and "up to date" in ok.output
    target.write_text("{}\n", encoding="utf-8")
    stale = runner.invoke(cli, ["agent", "schema", "--check", "--path", str(target)])
    assert stale.exit_code == 1 and "stale" in stale.output
    both = runner.invoke(cli, ["agent", "schema", "--check", "--write"])
    assert both.exit_code == 2


def test_committed_schema_passes_the_cli_check() -> None:
    path = REPO / "schemas" / "mimolo-agent-schema.json"
    result = CliRunner(env=WIDE).invoke(cli, ["agent", "schema", "--check", "--path", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_check_as_a_real_subprocess() -> None:
    argv = [sys.executable, "-m", "mimolo", "agent", "check", *PATIENT, "--json", "--"]
    argv += [sys.executable, str(REPO / "tests" / "sdk" / "upstream_v03_agent.py")]
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    rows = {row["check"]: row["result"] for row in report["rows"]}
    assert rows["status"] == "WARN" and report["passed"] is True
