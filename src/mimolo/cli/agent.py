"""``mimolo agent``: check any agent executable against the contract; publish the schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table

from mimolo.protocol.schema import SCHEMA_FILENAME, render_schema

_STYLES = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red", "SKIP": "dim"}


@click.group()
def agent() -> None:
    """Write and test agents: the conformance checker and the protocol schema."""


def _parse_config(raw: str | None) -> dict[str, Any]:
    """``--config``: a JSON object or a usage error."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--config") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--config")
    return value


@agent.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--seconds",
    type=click.FloatRange(0.5, 3600),
    default=3.0,
    show_default=True,
    help="How long to observe idle behaviour (heartbeats, CPU, memory).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.1, 600),
    default=3.0,
    show_default=True,
    help="Seconds to wait for the handshake and for each answer.",
)
@click.option(
    "--heartbeat",
    "heartbeat_s",
    type=click.FloatRange(0.1, 600),
    default=1.0,
    show_default=True,
    help="Heartbeat interval given to the agent (MIMOLO_HEARTBEAT_INTERVAL_S).",
)
@click.option("--config", "config_json", help="Parameters as a JSON object (MIMOLO_AGENT_CONFIG).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of a table.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def check(
    seconds: float,
    timeout_s: float,
    heartbeat_s: float,
    config_json: str | None,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND (after --) through the agent contract; exit 1 on any FAIL.

    mimolo agent check -- python -m mimolo.agents.agent_example
    """
    from mimolo.sdk.conformance import CheckOptions, run_check

    options = CheckOptions(
        seconds=seconds,
        timeout_s=timeout_s,
        heartbeat_interval_s=heartbeat_s,
        config=_parse_config(config_json),
    )
    report = run_check(list(command), options)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
    else:
        console = Console(highlight=False)
        table = Table(title=f"mimolo agent check: {' '.join(command)}")
        table.add_column("check")
        table.add_column("result")
        table.add_column("detail", overflow="fold")
        for row in report.rows:
            table.add_row(row.check, f"[{_STYLES[row.result]}]{row.result}[/]", row.detail)
        console.print(table)
        verdict = "[green]PASS[/]" if report.passed else "[bold red]FAIL[/]"
        console.print(f"{verdict} in {report.duration_s:.1f} s")
        if not report.passed and report.stderr_tail.strip():
            console.print("[dim]agent stderr (tail):[/]")
            console.print(report.stderr_tail.rstrip(), markup=False)
    if not report.passed:
        sys.exit(1)


@agent.command()
@click.option("--write", is_flag=True, help="Write the schema file.")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if the schema file is stale.")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("schemas") / SCHEMA_FILENAME,
    show_default=True,
    help="The committed schema file.",
)
def schema(write: bool, check_only: bool, path: Path) -> None:
    """Print the Agent JLP JSON Schema (or write / check the committed copy)."""
    if write and check_only:
        raise click.UsageError("use --write or --check, not both")
    rendered = render_schema()
    if check_only:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as exc:
            click.echo(f"cannot read {path}: {exc.strerror}", err=True)
            sys.exit(1)
        if current != rendered:
            click.echo(f"{path} is stale; run `mimolo agent schema --write`", err=True)
            sys.exit(1)
        click.echo(f"{path} is up to date")
    elif write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
        click.echo(f"wrote {path}")
    else:
        click.echo(rendered, nl=False)


__all__ = ["agent"]
