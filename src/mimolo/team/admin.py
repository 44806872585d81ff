"""The store's administration: the schema, a writer login role per machine, reader roles.

Run by whoever administers the PostgreSQL (``mimolo team init-db|add-host|add-reader``,
docs/team.md). Roles are made without a password: the administrator chooses how they
authenticate (a password set in ``psql``, client certificates, peer), and the machines
find their credentials through libpq (``~/.pgpass``, a service file), never our config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import msgspec
from psycopg import sql

from mimolo.errors import TeamStoreError
from mimolo.evidence.layout import load_public_key
from mimolo.protocol.chain import key_id
from mimolo.team.connect import Conn, as_team_error
from mimolo.team.schema import Migration, apply_migrations, require_current

WRITER_GROUP = "mimolo_writer"
READER_GROUP = "mimolo_reader"
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class HostRow(msgspec.Struct, frozen=True):
    host_id: str
    host_name: str
    person: str
    role_name: str


@dataclass(frozen=True)
class HostKeyFile:
    """A machine's public host key (``trust/host_ed25519.pub`` of its data root)."""

    pem: str
    host_id: str

    @classmethod
    def read(cls, path: Path) -> HostKeyFile:
        try:
            raw = load_public_key(path)
        except (OSError, ValueError) as exc:
            raise TeamStoreError(
                f"{path}: not a readable Ed25519 public key: {exc}", code="team_host_unknown"
            ) from exc
        return cls(path.read_text("ascii"), key_id(raw))


def check_role_name(name: str) -> str:
    if not _ROLE.fullmatch(name):
        raise TeamStoreError(
            f"{name!r} is not a role name we make (lowercase letters, digits, '_')",
            code="team_refused",
        )
    return name


def default_writer_role(host_id: str) -> str:
    return f"mimolo_host_{host_id}"


def init_db(conn: Conn) -> list[Migration]:
    """Apply the migrations (and so make the group roles); those applied now."""
    try:
        return apply_migrations(conn)
    except TeamStoreError:
        raise
    except Exception as exc:
        raise as_team_error(exc) from exc


def _ensure_login_role(conn: Conn, role: str, group: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists is None:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role)))


def add_host(
    conn: Conn, key: HostKeyFile, *, host_name: str, person: str = "", role: str | None = None
) -> HostRow:
    """Register a machine by its host key and give it a writer login role (made when
    missing) that may write only that host's rows. Re-running updates name and person."""
    role = check_role_name(role or default_writer_role(key.host_id))
    try:
        with conn.transaction():
            require_current(conn)
            other = conn.execute(
                "SELECT host_id FROM mimolo.host_writers WHERE role_name = %s", (role,)
            ).fetchone()
            if other is not None and other[0] != key.host_id:
                raise TeamStoreError(
                    f"role {role} already writes for host {other[0]}", code="team_refused"
                )
            conn.execute(
                "INSERT INTO mimolo.hosts (host_id, host_name, person, public_key)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (host_id) DO UPDATE"
                " SET host_name = EXCLUDED.host_name, person = EXCLUDED.person",
                (key.host_id, host_name, person, key.pem),
            )
            _ensure_login_role(conn, role, WRITER_GROUP)
            conn.execute(
                "INSERT INTO mimolo.host_writers (role_name, host_id) VALUES (%s, %s)"
                " ON CONFLICT (role_name) DO NOTHING",
                (role, key.host_id),
            )
    except TeamStoreError:
        raise
    except Exception as exc:
        raise as_team_error(exc) from exc
    return HostRow(key.host_id, host_name, person, role)


def add_reader(conn: Conn, role: str) -> str:
    """A login role (made when missing) that reads every host's rows and writes nothing."""
    role = check_role_name(role)
    try:
        with conn.transaction():
            require_current(conn)
            _ensure_login_role(conn, role, READER_GROUP)
    except TeamStoreError:
        raise
    except Exception as exc:
        raise as_team_error(exc) from exc
    return role


def list_hosts(conn: Conn) -> list[HostRow]:
    """The registered machines and their writer roles (a store without the schema says
    so with its code, as every other command does)."""
    try:
        require_current(conn)
        rows = conn.execute(
            "SELECT h.host_id, h.host_name, h.person, coalesce(w.role_name, '')"
            " FROM mimolo.hosts h LEFT JOIN mimolo.host_writers w USING (host_id)"
            " ORDER BY h.host_name, h.host_id"
        ).fetchall()
    except TeamStoreError:
        raise
    except Exception as exc:
        raise as_team_error(exc) from exc
    return [HostRow(*row) for row in rows]


__all__ = [
    "READER_GROUP",
    "WRITER_GROUP",
    "HostKeyFile",
    "HostRow",
    "add_host",
    "add_reader",
    "check_role_name",
    "default_writer_role",
    "init_db",
    "list_hosts",
]
