"""Connecting to the team store the way libpq does, and nothing more.

A conninfo string (``host=db.studio.lan dbname=mimolo``, a ``postgresql://`` URI or
``service=mimolo``), the ``PG*`` environment variables, ``~/.pg_service.conf``,
``~/.pgpass`` and ``sslmode`` are all libpq's own: we pass the string through untouched
and never hold a password. PostgreSQL's failures are mapped to ``TeamStoreError`` codes
here, at the boundary.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import TupleRow

from mimolo.errors import TeamStoreError

Conn: TypeAlias = psycopg.Connection[TupleRow]
APPLICATION = "mimolo"
CONNECT_TIMEOUT_S = 10


def connect(conninfo: str, *, autocommit: bool = False, **kwargs: Any) -> Conn:
    """A connection from libpq's conninfo (an empty string: the ``PG*`` variables alone)."""
    try:
        conn = psycopg.connect(
            conninfo,
            autocommit=autocommit,
            application_name=APPLICATION,
            connect_timeout=kwargs.pop("connect_timeout", CONNECT_TIMEOUT_S),
            **kwargs,
        )
    except psycopg.Error as exc:
        raise as_team_error(exc) from exc
    conn.execute("SET TimeZone = 'UTC'")
    if not autocommit:
        conn.commit()
    return conn


def as_team_error(exc: BaseException) -> TeamStoreError:
    """PostgreSQL's failure as our error, with libpq's own message kept."""
    message = str(exc).strip() or type(exc).__name__
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return TeamStoreError(f"PostgreSQL refused it: {message}", code="team_refused")
    if isinstance(exc, pg_errors.UndefinedTable | pg_errors.InvalidSchemaName):
        return TeamStoreError(
            f"the team schema is missing ({message}): run `mimolo team init-db`",
            code="team_schema_missing",
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return TeamStoreError(f"cannot reach the team store: {message}", code="team_unreachable")
    if isinstance(exc, TeamStoreError):
        return exc
    return TeamStoreError(f"the team store failed: {message}")


__all__ = ["APPLICATION", "Conn", "as_team_error", "connect"]
