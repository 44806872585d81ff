"""The ``[sync]`` service inside a real ``mimolo ops``: agents' summaries reach the team
store, and ``get_status``, ``mimolo status`` and Control's dashboard show how far the store
is behind (or why it cannot be reached)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import psycopg

from control._live import EXAMPLE_CONFIG, live_control, running_ops, short_data_root, wait_for
from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.ipc.client import request_sync
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.team.admin import HostKeyFile, add_host
from mimolo.team.connect import connect

_SHOWN_SEQ = re.compile(r'data-field="sync-acked">(\d+)<')


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
            with live_control(root) as control, control.client() as client:
                wait_for(lambda: control.ops.available, "Control to reach Operations", timeout=60)
                page = client.get("/")
                assert page.status_code == 200 and 'id="sync"' in page.text
                fragment = client.get("/fragments/sync").text
                match = _SHOWN_SEQ.search(fragment)
                assert match is not None and int(match.group(1)) >= 3, fragment
                assert "Team sync" in fragment and f"user={role}" in fragment
                assert 'data-field="sync-error"' not in fragment


def _status_sync(root: DataRoot) -> dict[str, Any]:
    return request_sync(root.socket_path, "get_status")["sync"]  # type: ignore[no-any-return]


def test_the_dashboard_says_why_the_store_cannot_be_reached() -> None:
    with short_data_root() as root:
        load_or_create_host_key(root)
        gone = f"{root.root}/no-such-socket-dir"
        config = EXAMPLE_CONFIG + (
            f'\n[sync]\nconninfo = "host={gone} dbname=mimolo user=nobody"\ninterval_s = 1.0\n'
        )
        with running_ops(root, config), live_control(root) as control, control.client() as c:
            wait_for(lambda: _status_sync(root)["failures"] >= 1, "a failed pass", timeout=90)
            wait_for(lambda: control.ops.available, "Control to reach Operations", timeout=60)

            def shows_the_error() -> bool:  # between two attempts (a retry is brief)
                fragment = c.get("/fragments/sync").text
                return (
                    'data-sync-state="backing_off"' in fragment
                    and 'data-field="sync-error"><strong>team_unreachable</strong>' in fragment
                    and "next attempt" in fragment
                )

            wait_for(shows_the_error, "the dashboard's sync error", timeout=60)
            assert "user=nobody" in c.get("/").text  # the target, never a password


def test_without_a_sync_section_the_dashboard_shows_no_sync_line() -> None:
    with short_data_root() as root, running_ops(root), live_control(root) as control:
        wait_for(lambda: control.ops.available, "Control to reach Operations", timeout=60)
        assert _status_sync(root) == {"enabled": False}
        with control.client() as client:
            assert client.get("/fragments/sync").text.strip() == ""
            page = client.get("/").text
            assert 'id="sync"' not in page and "Team sync" not in page
