"""``mimolo team init-db|add-host|add-reader|hosts``: administer the team store
(PostgreSQL): apply the schema, give each machine its writer role, readers for Control."""

from __future__ import annotations

import json
from pathlib import Path

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.dataroot import DataRoot
from mimolo.errors import TeamStoreError
from mimolo.operations.host_key import host_public_key_path
from mimolo.team.admin import HostKeyFile, add_host, add_reader, init_db, list_hosts
from mimolo.team.connect import connect
from mimolo.team.schema import latest_version

_CONNINFO = click.argument("conninfo", metavar="CONNINFO")


def _fail(exc: TeamStoreError) -> click.ClickException:
    return click.ClickException(f"{exc.code}: {exc.message}")


@click.group("team")
def team() -> None:
    """Administer the team store (PostgreSQL) that `mimolo sync` ships to."""


@team.command("init-db")
@_CONNINFO
def init_db_cmd(conninfo: str) -> None:
    """Apply the team schema (idempotent) and make the writer and reader group roles."""
    try:
        with connect(conninfo) as conn:
            applied = init_db(conn)
    except TeamStoreError as exc:
        raise _fail(exc) from exc
    if applied:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
        click.echo(f"applied {names}; the schema is at version {latest_version()}")
    else:
        click.echo(f"the schema is at version {latest_version()}; nothing to apply")


@team.command("add-host")
@_CONNINFO
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The machine's trust/host_ed25519.pub.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read the host key from this data root instead.",
)
@click.option("--host-name", required=True, help="The machine's name in the team view.")
@click.option("--person", default="", help="Who works on it.")
@click.option("--role", help="The writer login role (default mimolo_host_<key id>).")
def add_host_cmd(
    conninfo: str,
    public_key: Path | None,
    data_dir: Path | None,
    host_name: str,
    person: str,
    role: str | None,
) -> None:
    """Register a machine by its host key and give it a writer role for its rows only."""
    if public_key is None:
        public_key = host_public_key_path(DataRoot.resolve(data_dir))
    elif data_dir is not None:
        raise click.UsageError("give --public-key or --data-dir, not both")
    try:
        key = HostKeyFile.read(public_key)
        with connect(conninfo) as conn:
            row = add_host(conn, key, host_name=host_name, person=person, role=role)
    except TeamStoreError as exc:
        raise _fail(exc) from exc
    who = f" ({row.person})" if row.person else ""
    click.echo(f"host {row.host_id}: {row.host_name}{who}, writer role {row.role_name}")


@team.command("add-reader")
@_CONNINFO
@click.argument("role")
def add_reader_cmd(conninfo: str, role: str) -> None:
    """Make (or grant) a login role that reads every host's rows, for the team view."""
    try:
        with connect(conninfo) as conn:
            made = add_reader(conn, role)
    except TeamStoreError as exc:
        raise _fail(exc) from exc
    click.echo(f"reader role {made}")


@team.command("hosts")
@_CONNINFO
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
def hosts_cmd(conninfo: str, as_json: bool) -> None:
    """The registered machines, their people and writer roles."""
    try:
        with connect(conninfo) as conn:
            rows = list_hosts(conn)
    except TeamStoreError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps([msgspec.structs.asdict(r) for r in rows]))
        return
    table = Table("host id", "name", "person", "writer role")
    for row in rows:
        table.add_row(row.host_id, escape(row.host_name), escape(row.person), row.role_name)
    Console().print(table)
