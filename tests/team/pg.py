"""A private PostgreSQL cluster for tests (DESIGN §14): ``initdb`` in a temp dir, a Unix
socket in that dir, no TCP, torn down at the end.

As root (CI), the cluster's files belong to the ``postgres`` user and ``initdb`` / ``pg_ctl``
run through ``runuser -u postgres``; as anyone else they run directly. Use the
session-scoped ``pg_cluster`` fixture (``tests/team/conftest.py``; import it from a
``conftest.py`` of your own with ``from team.pg import pg_cluster``), ``team_db`` for a
fresh database with the schema applied, or ``PgCluster`` itself for a cluster a test may
stop and start.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "mimolo"
_names = itertools.count(1)


def _pg_bin() -> Path:
    if PG_BIN.is_dir():
        return PG_BIN
    found = shutil.which("pg_ctl")
    if found is None:
        raise RuntimeError("PostgreSQL is not installed (scripts/bootstrap --test installs it)")
    return Path(found).resolve().parent


@dataclass
class PgCluster:
    """One private cluster: ``start``, ``stop``, ``conninfo``, ``create_database``."""

    base: Path
    bin_dir: Path = field(default_factory=_pg_bin)
    running: bool = False

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER,
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off"
        log = str(self.base / "server.log")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", log, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")
        self.running = False

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={self.socket_dir} dbname={dbname} user={user}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its name."""
        name = f"{prefix}_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def wait_ready(self, deadline_s: float = 60.0) -> None:
        end = time.monotonic() + deadline_s
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)


@contextlib.contextmanager
def private_cluster() -> Iterator[PgCluster]:
    """A started cluster in a fresh temp dir, stopped and removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="mimolo-pg-"))
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(base, pg.pw_uid, pg.pw_gid)
    base.chmod(0o700)
    cluster = PgCluster(base)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running:
            with contextlib.suppress(subprocess.SubprocessError):
                cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One private cluster for the whole session."""
    with private_cluster() as cluster:
        yield cluster


@pytest.fixture
def team_db(pg_cluster: PgCluster) -> str:
    """A fresh database with the team schema applied; its admin conninfo."""
    from mimolo.team.schema import apply_migrations

    conninfo = pg_cluster.conninfo(pg_cluster.create_database())
    with psycopg.connect(conninfo) as conn:
        apply_migrations(conn)
    return conninfo


__all__ = ["SUPERUSER", "PgCluster", "pg_cluster", "private_cluster", "team_db"]
