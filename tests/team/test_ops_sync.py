"""The ``[sync]`` service inside a real ``mimolo ops``: agents' summaries reach the team
store, and ``get_status`` / ``mimolo status`` show how far the store is behind."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import psycopg

from control._live import EXAMPLE_CONFIG, running_ops, short_data_root, wait_for
from mimolo.dataroot import ENV_DATA_DIR
from mimolo.ipc.client import request_sync
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.team.admin import HostKeyFile, add_host
from mimolo.team.connect import connect


def test_operations_ships_its_ledger_and_reports_the_lag(team_db: str) -> None:
    with short_data_root() as root:
        load_or_create_host_key(root)
        key = HostKeyFile.read(host_public_key_path(root))
        with connect(team_db) as admin:
            role = add_host(admin, key, host_name="ws-ops").role_name
        config = EXAMPLE_CONFIG + (
            f'\n[sync]\nconninfo = "{team_db} user={role}"\ninterval_s = 1.0\nbatch_size = 50\n'
        )
        with running_ops(root, config) as ops:

            def status() -> dict[str, Any]:
                return request_sync(root.socket_path, "get_status")["sync"]  # type: ignore[no-any-return]

            def stored() -> int:
                with psycopg.connect(team_db) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM mimolo.records WHERE host_id = %s", (key.host_id,)
                    ).fetchone()
                return row[0] if row else 0

            wait_for(lambda: stored() >= 3, "summaries in the store", timeout=90)
            wait_for(lambda: status()["acked_seq"] >= 3, "the acknowledged seq", timeout=90)
            sync = status()
            assert sync["enabled"] and sync["host_id"] == key.host_id
            assert sync["last_error"] is None and sync["state"] in ("idle", "shipping")
            assert f"user={role}" in sync["target"]
            env = {**os.environ, ENV_DATA_DIR: str(root.root)}
            shown = subprocess.run(
                [sys.executable, "-m", "mimolo", "status"],
                capture_output=True, env=env, timeout=60, check=True,
            )  # fmt: skip
            assert b"team sync" in shown.stdout, ops.console()
