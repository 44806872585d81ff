"""``mimolo packages`` against a real ``mimolo ops`` (developer mode), through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control._live import OpsProcess, short_data_root
from mimolo.cli import cli
from operations.packages._corpus import SH_AGENT, build_example

pytestmark = pytest.mark.slow


def test_list_inspect_install_remove(tmp_path: Path) -> None:
    with short_data_root() as root:
        ops = OpsProcess(root)
        ops.extra_args = ["--developer-mode"]
        ops.start()
        try:
            runner = CliRunner()
            where = ["--data-dir", str(root.root)]
            package = build_example(SH_AGENT, tmp_path)
            empty = runner.invoke(cli, ["packages", "list", *where])
            assert empty.exit_code == 0 and "No packages installed" in empty.output
            inspected = runner.invoke(cli, ["packages", "inspect", str(package), *where])
            assert inspected.exit_code == 0, inspected.output
            assert "installing would: install" in inspected.output
            done = runner.invoke(cli, ["packages", "install", str(package), *where])
            assert done.exit_code == 0 and "installed sh_heartbeat 1.0.0" in done.output
            again = runner.invoke(cli, ["packages", "install", str(package), *where])
            assert again.exit_code == 1 and "version_already_installed" in again.output
            listed = runner.invoke(cli, ["packages", "list", "--json", *where])
            views = json.loads(listed.output)["packages"]
            assert [(v["plugin_id"], v["trust"]) for v in views] == [(SH_AGENT, "UNVERIFIED")]
            gone = runner.invoke(cli, ["packages", "remove", SH_AGENT, *where])
            assert gone.exit_code == 0 and "removed sh_heartbeat 1.0.0" in gone.output
            assert not (root.packages_dir / SH_AGENT).exists()
        finally:
            ops.stop()
