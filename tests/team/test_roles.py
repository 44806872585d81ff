"""Roles and row-level security on a real PostgreSQL: a machine's writer role writes only
its own host's rows; a reader reads all and writes nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import TeamStoreError
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.team.admin import HostKeyFile, add_host, add_reader, list_hosts
from mimolo.team.connect import connect

from .pg import PgCluster

INSERT = (
    "INSERT INTO mimolo.records (host_id, seq, id, received_at, plugin_id, instance_id,"
    " instance_label, record, line) VALUES (%s, 1, 'r1', '2026-03-02T10:00:00Z', 'p', 'i',"
    " 'I', '{}', '{}')"
)


def _host(tmp_path: Path, name: str) -> HostKeyFile:
    root = DataRoot(tmp_path / name)
    load_or_create_host_key(root)
    return HostKeyFile.read(host_public_key_path(root))


def _user(conninfo: str, user: str) -> str:
    return f"{conninfo} user={user}"


def test_writer_inserts_only_its_own_hosts_rows(
    team_db: str, tmp_path: Path, pg_cluster: PgCluster
) -> None:
    a, b = _host(tmp_path, "a"), _host(tmp_path, "b")
    with connect(team_db) as admin:
        row_a = add_host(admin, a, host_name="studio-a", person="Ann")
        row_b = add_host(admin, b, host_name="studio-b", person="Bo")
        admin.execute("SELECT mimolo.ensure_month('2026-03-02T10:00:00Z')")
        admin.commit()
        assert [h.host_id for h in list_hosts(admin)] == [a.host_id, b.host_id]
    with psycopg.connect(_user(team_db, row_a.role_name)) as writer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            writer.execute(INSERT, (b.host_id,))
        writer.rollback()
        writer.execute(INSERT, (a.host_id,))
        writer.commit()
        seen = writer.execute("SELECT host_id FROM mimolo.records").fetchall()
        assert seen == [(a.host_id,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("DELETE FROM mimolo.records")
        writer.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("UPDATE mimolo.records SET line = 'x'")
        writer.rollback()
        hosts = writer.execute("SELECT host_id FROM mimolo.hosts").fetchall()
        assert hosts == [(a.host_id,)]
    with psycopg.connect(_user(team_db, row_b.role_name)) as other:
        assert other.execute("SELECT count(*) FROM mimolo.records").fetchone() == (0,)


def test_reader_reads_every_host_and_writes_nothing(team_db: str, tmp_path: Path) -> None:
    a = _host(tmp_path, "a")
    with connect(team_db) as admin:
        add_host(admin, a, host_name="studio-a")
        add_reader(admin, "mimolo_control_test")
        admin.execute("SELECT mimolo.ensure_month('2026-03-02T10:00:00Z')")
        admin.execute(INSERT, (a.host_id,))
        admin.commit()
    with psycopg.connect(_user(team_db, "mimolo_control_test")) as reader:
        assert reader.execute("SELECT count(*) FROM mimolo.records").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute(INSERT, (a.host_id,))


def test_a_role_writes_for_one_host_only(team_db: str, tmp_path: Path) -> None:
    a, b = _host(tmp_path, "a"), _host(tmp_path, "b")
    with connect(team_db) as admin:
        add_host(admin, a, host_name="a", role="mimolo_shared_role")
        again = add_host(admin, a, host_name="a2", person="Ann", role="mimolo_shared_role")
        assert again.host_name == "a2"
        with pytest.raises(TeamStoreError) as caught:
            add_host(admin, b, host_name="b", role="mimolo_shared_role")
    assert caught.value.code == "team_refused"


def test_add_host_needs_the_schema(pg_cluster: PgCluster, tmp_path: Path) -> None:
    empty = pg_cluster.conninfo(pg_cluster.create_database())
    with connect(empty) as admin, pytest.raises(TeamStoreError) as caught:
        add_host(admin, _host(tmp_path, "a"), host_name="a")
    assert caught.value.code == "team_schema_missing"
