"""``mimolo team init-db|add-host|add-reader|hosts`` through the real CLI (CliRunner, and a
real subprocess for the whole set-up) against the private PostgreSQL cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from click.testing import CliRunner

from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.protocol.chain import key_id
from mimolo.team.schema import latest_version

from .pg import PgCluster

WIDE = {"COLUMNS": "250"}  # rich wraps table cells at the terminal width


def _host_key(base: Path, name: str) -> tuple[DataRoot, str]:
    root = DataRoot(base / name)
    key = load_or_create_host_key(root)
    return root, key_id(key.public_raw)


def _run(*argv: str) -> tuple[int, str]:
    result = CliRunner(env=WIDE).invoke(cli, list(argv))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_init_db_add_host_add_reader_and_hosts(pg_cluster: PgCluster, tmp_path: Path) -> None:
    admin = pg_cluster.conninfo(pg_cluster.create_database("cli"))
    code, out = _run("team", "init-db", admin)
    assert code == 0, out
    assert "applied 0001_team_store, 0002_summary_columns" in out
    assert f"the schema is at version {latest_version()}" in out
    code, out = _run("team", "init-db", admin)
    assert code == 0 and "nothing to apply" in out, out

    anna, anna_id = _host_key(tmp_path, "anna")
    code, out = _run(
        "team", "add-host", admin, "--public-key", str(host_public_key_path(anna)),
        "--host-name", "ws-anna", "--person", "Anna Berg",
    )  # fmt: skip
    assert code == 0, out
    assert out.strip() == (
        f"host {anna_id}: ws-anna (Anna Berg), writer role mimolo_host_{anna_id}"
    )
    ben, ben_id = _host_key(tmp_path, "ben")
    code, out = _run(
        "team", "add-host", admin, "--data-dir", str(ben.root), "--host-name", "ws-ben",
        "--role", "ben_writer",
    )  # fmt: skip
    assert code == 0 and f"host {ben_id}: ws-ben, writer role ben_writer" in out, out

    code, out = _run("team", "add-reader", admin, "control_anna")
    assert code == 0 and out.strip() == "reader role control_anna", out

    code, out = _run("team", "hosts", admin, "--json")
    assert code == 0, out
    assert json.loads(out) == [
        {"host_id": anna_id, "host_name": "ws-anna", "person": "Anna Berg",
         "role_name": f"mimolo_host_{anna_id}"},
        {"host_id": ben_id, "host_name": "ws-ben", "person": "", "role_name": "ben_writer"},
    ]  # fmt: skip
    code, out = _run("team", "hosts", admin)
    assert code == 0 and "ws-anna" in out and "Anna Berg" in out and "ben_writer" in out, out

    with psycopg.connect(admin) as conn:
        members = conn.execute(
            "SELECT r.rolname, g.rolname FROM pg_auth_members m"
            " JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid"
            " WHERE r.rolname IN (%s, 'ben_writer', 'control_anna') ORDER BY 1",
            (f"mimolo_host_{anna_id}",),
        ).fetchall()
    assert sorted(members) == sorted(
        [
            ("ben_writer", "mimolo_writer"),
            ("control_anna", "mimolo_reader"),
            (f"mimolo_host_{anna_id}", "mimolo_writer"),
        ]
    )


def test_refusals_name_their_code(pg_cluster: PgCluster, tmp_path: Path) -> None:
    admin = pg_cluster.conninfo(pg_cluster.create_database("cli"))
    empty = pg_cluster.conninfo(pg_cluster.create_database("cli"))
    code, out = _run("team", "hosts", empty)
    assert code == 1 and "team_schema_missing" in out, out
    assert _run("team", "init-db", admin)[0] == 0
    anna, _ = _host_key(tmp_path, "anna")
    ben, ben_id = _host_key(tmp_path, "ben")
    pub = str(host_public_key_path(anna))
    assert _run("team", "add-host", admin, "--public-key", pub, "--host-name", "a",
                "--role", "shared_role")[0] == 0  # fmt: skip
    code, out = _run(
        "team", "add-host", admin, "--data-dir", str(ben.root), "--host-name", "b",
        "--role", "shared_role",
    )  # fmt: skip
    assert code == 1 and "team_refused" in out and "already writes for host" in out, out
    code, out = _run("team", "add-reader", admin, "Robert'); DROP TABLE x;--")
    assert code == 1 and "team_refused" in out, out
    code, out = _run(
        "team", "add-host", admin, "--public-key", pub, "--data-dir", str(ben.root),
        "--host-name", "x",
    )  # fmt: skip
    assert code == 2 and "not both" in out, out
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key\n", encoding="ascii")
    code, out = _run("team", "add-host", admin, "--public-key", str(junk), "--host-name", "j")
    assert code == 1 and "team_host_unknown" in out, out
    gone = f"host={tmp_path}/no-socket-here dbname=x user=y"
    code, out = _run("team", "init-db", gone)
    assert code == 1 and "team_unreachable" in out, out
    code, out = _run("team", "hosts", admin, "--json")
    assert [h["host_name"] for h in json.loads(out)] == ["a"] and ben_id not in out


def test_the_set_up_as_an_administrator_types_it(pg_cluster: PgCluster, tmp_path: Path) -> None:
    admin = pg_cluster.conninfo(pg_cluster.create_database("cli"))
    root, host_id = _host_key(tmp_path, "ws")
    env = {**os.environ, **WIDE}

    def mimolo(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mimolo", "team", *argv],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "applied 0001_team_store" in mimolo("init-db", admin)
    assert f"writer role mimolo_host_{host_id}" in mimolo(
        "add-host", admin, "--data-dir", str(root.root), "--host-name", "ws"
    )
    assert json.loads(mimolo("hosts", admin, "--json"))[0]["host_id"] == host_id
