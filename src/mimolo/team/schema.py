"""The team store's schema: plain SQL migrations shipped with the package
(``migrations/NNNN_name.sql``), applied in order, each once, recorded in
``mimolo.schema_version``.

``apply_migrations`` runs in one transaction under an advisory lock, so two admins running
``mimolo team init-db`` at once apply each file once, and a failed file leaves the database
as it was. Re-running it is a no-op.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import NamedTuple

from mimolo.errors import TeamStoreError
from mimolo.team.connect import Conn

SCHEMA = "mimolo"  # every table, function and partition lives in it
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6D696D6F6C6F  # "mimolo": serializes concurrent migration runs


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every shipped migration, oldest first."""
    found = []
    for entry in resources.files("mimolo.team").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort()
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise TeamStoreError(f"migrations are not numbered 1..n: {versions}")
    return found


def latest_version() -> int:
    return len(migrations())


def applied_version(conn: Conn) -> int:
    """The newest version applied to the database (0 when it has no team schema)."""
    row = conn.execute("SELECT to_regclass('mimolo.schema_version')").fetchone()
    if row is None or row[0] is None:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM mimolo.schema_version").fetchone()
    return int(row[0]) if row else 0


def check_encoding(conn: Conn) -> None:
    row = conn.execute("SHOW server_encoding").fetchone()
    if row is None or str(row[0]).upper() not in ("UTF8", "UTF-8"):
        raise TeamStoreError(
            f"the database's encoding is {row[0] if row else '?'}; the team store needs UTF8 "
            "(CREATE DATABASE ... ENCODING 'UTF8')",
            code="team_encoding",
        )


def apply_migrations(conn: Conn) -> list[Migration]:
    """Apply every migration the database lacks, in one transaction; those applied."""
    check_encoding(conn)
    shipped = migrations()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS mimolo")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS mimolo.schema_version ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        have = applied_version(conn)
        if have > len(shipped):
            raise TeamStoreError(
                f"the team schema is at version {have}; this MiMoLo knows {len(shipped)}",
                code="team_schema_newer",
            )
        todo = [m for m in shipped if m.version > have]
        for migration in todo:
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO mimolo.schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
    return todo


def require_current(conn: Conn, at_least: int = 1) -> int:
    """The schema version, refusing a database without the schema (or older than
    ``at_least``: what the caller's queries need) or with a newer one."""
    have = applied_version(conn)
    if have == 0:
        raise TeamStoreError(
            "the database has no MiMoLo team schema: run `mimolo team init-db CONNINFO` first",
            code="team_schema_missing",
        )
    if have < at_least:
        raise TeamStoreError(
            f"the team schema is at version {have}; this MiMoLo needs {at_least}: run "
            "`mimolo team init-db CONNINFO` (as the administrator) to bring it up to date",
            code="team_schema_missing",
        )
    if have > latest_version():
        raise TeamStoreError(
            f"the team schema is at version {have}; this MiMoLo knows {latest_version()}",
            code="team_schema_newer",
        )
    return have


__all__ = [
    "SCHEMA",
    "Migration",
    "applied_version",
    "apply_migrations",
    "check_encoding",
    "latest_version",
    "migrations",
    "require_current",
]
