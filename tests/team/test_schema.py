"""The migrations on a real private PostgreSQL: applied once, in order, idempotent."""

from __future__ import annotations

import psycopg

from mimolo.team.schema import applied_version, apply_migrations, latest_version, migrations

from .pg import PgCluster


def test_migrations_apply_once_and_rerun_is_a_no_op(pg_cluster: PgCluster) -> None:
    conninfo = pg_cluster.conninfo(pg_cluster.create_database())
    with psycopg.connect(conninfo) as conn:
        assert applied_version(conn) == 0
        first = apply_migrations(conn)
        assert [m.version for m in first] == list(range(1, latest_version() + 1))
        assert apply_migrations(conn) == []
        assert applied_version(conn) == latest_version()
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'mimolo'"
            ).fetchall()
        }
    assert {
        "hosts", "host_writers", "records", "checkpoints", "review_entries",
        "sync_state", "chain_breaks", "schema_version",
    } <= tables  # fmt: skip


def test_month_partitions_are_made_on_demand(team_db: str) -> None:
    with psycopg.connect(team_db, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        made = conn.execute("SELECT mimolo.ensure_month('2026-03-31 23:59:59+00')").fetchone()
        again = conn.execute("SELECT mimolo.ensure_month('2026-03-01 00:00:00+00')").fetchone()
        assert made == again == ("records_y2026m03",)
        bound = conn.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s",
            ("records_y2026m03",),
        ).fetchone()
    assert bound is not None
    assert "2026-03-01 00:00:00+00" in bound[0] and "2026-04-01 00:00:00+00" in bound[0]


def test_migration_files_are_numbered_in_order() -> None:
    shipped = migrations()
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    assert all(m.sql.strip() for m in shipped)
