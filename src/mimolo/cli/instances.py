"""``mimolo instances``: provision agent instances through Operations (list/add/set/remove…)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.cli.ipc_call import (
    call,
    call_all,
    data_dir_option,
    err_console,
    explain,
    json_option,
    parse_assignments,
    print_json,
    socket_path,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.resilient import request_pages_sync
from mimolo.operations.snapshot import read_snapshot

console = Console(highlight=False)


def _live_states(data_dir: Path | None) -> dict[str, dict[str, Any]]:
    """Every instance's live state; if Operations cannot give them, the snapshot's (said)."""
    try:
        agents = request_pages_sync(socket_path(data_dir), "get_agent_states", "agents")["agents"]
    except IpcError as exc:
        snap = read_snapshot(DataRoot.resolve(data_dir))
        shown = f"the snapshot of {snap.written_at:%H:%M:%S}" if snap else "no states"
        err_console.print(
            f"[yellow]live states unavailable[/yellow] ({escape(explain(exc))}); showing {shown}"
        )
        agents = [msgspec.to_builtins(s) for s in snap.instances] if snap else []
    return {a["instance_id"]: a for a in agents if isinstance(a, dict) and "instance_id" in a}


def _state_cell(state: dict[str, Any] | None) -> str:
    if not state:
        return "-"
    colour = {"running": "green", "quarantined": "red", "failed": "red", "untrusted": "red"}.get(
        state["state"], ""
    )
    text = state["state"] if state.get("verified", True) else f"{state['state']} UNVERIFIED"
    return f"[{colour}]{text}[/{colour}]" if colour else text


def _show_result(result: dict[str, Any], verb: str) -> None:
    config = result.get("config") or {}
    state = result.get("state") or {}
    console.print(
        f"{verb} [bold]{result['instance_id']}[/bold]"
        + (f" ({config['instance_label']})" if config.get("instance_label") else "")
        + (f": {state['state']}" if state.get("state") else "")
    )


@click.group("instances")
def instances() -> None:
    """Configured agent instances (changes go through Operations and are persisted)."""


@instances.command("list")
@json_option
@data_dir_option
def list_(as_json: bool, data_dir: Path | None) -> None:
    """Every instance with its template, label and live state."""
    configured = call_all(data_dir, "get_agent_instances", "instances")
    states = _live_states(data_dir)
    if as_json:
        print_json(
            {"instances": [{**i, "state": states.get(i["instance_id"])} for i in configured]}
        )
        return
    table = Table("instance", "plugin", "label", "enabled", "state", "health", "pid", "params")
    for inst in configured:
        state = states.get(inst["instance_id"])
        table.add_row(
            inst["instance_id"],
            inst["plugin_id"],
            inst["instance_label"],
            "yes" if inst["enabled"] else "no",
            _state_cell(state),
            (state or {}).get("health") or "-",
            str((state or {}).get("pid") or "-"),
            ", ".join(f"{k}={v!r}" for k, v in inst.get("params", {}).items()),
        )
    console.print(table)


def _settings_fields(
    flush_interval: float | None,
    heartbeat_interval: float | None,
    cpu_budget: float | None,
    client: str | None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if flush_interval is not None:
        fields["flush_interval_s"] = flush_interval
    if heartbeat_interval is not None:
        fields["heartbeat_interval_s"] = heartbeat_interval
    if cpu_budget is not None:
        fields["cpu_budget_percent"] = cpu_budget
    if client is not None:
        fields["client_id"] = client or None
    return fields


_flush = click.option("--flush-interval", type=float, help="Seconds between summaries.")
_heartbeat = click.option("--heartbeat-interval", type=float, help="Seconds between heartbeats.")
_cpu = click.option("--cpu-budget", type=float, help="CPU budget in percent of one core.")
_client = click.option("--client", help="Client id the activity is billed to ('' for none).")


@instances.command("add")
@click.argument("template")
@click.argument("params", nargs=-1)
@click.option("--label", required=True, help="Human label; the id is derived from it.")
@click.option("--id", "instance_id", help="Explicit instance id (a slug).")
@click.option("--disabled", is_flag=True, help="Add without starting it.")
@_flush
@_heartbeat
@_cpu
@_client
@json_option
@data_dir_option
def add(
    template: str,
    params: tuple[str, ...],
    label: str,
    instance_id: str | None,
    disabled: bool,
    flush_interval: float | None,
    heartbeat_interval: float | None,
    cpu_budget: float | None,
    client: str | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Add an instance of TEMPLATE, with parameters as key=value."""
    values = {k: v for k, v in parse_assignments(params).items() if v is not None}
    fields = _settings_fields(flush_interval, heartbeat_interval, cpu_budget, client)
    if instance_id is not None:
        fields["instance_id"] = instance_id
    result = call(
        data_dir,
        "add_agent_instance",
        plugin_id=template,
        instance_label=label,
        params=values,
        enabled=not disabled,
        **fields,
    )
    if as_json:
        print_json(result)
    else:
        _show_result(result, "added")


@instances.command("duplicate")
@click.argument("instance_id")
@click.option("--label", help="Label of the copy (default: '<label> (copy)').")
@click.option("--id", "new_id", help="Explicit id of the copy.")
@json_option
@data_dir_option
def duplicate(
    instance_id: str, label: str | None, new_id: str | None, as_json: bool, data_dir: Path | None
) -> None:
    """Copy INSTANCE_ID (template, parameters, settings) under a new label."""
    fields: dict[str, Any] = {}
    if label is not None:
        fields["instance_label"] = label
    if new_id is not None:
        fields["new_instance_id"] = new_id
    result = call(data_dir, "duplicate_agent_instance", instance_id=instance_id, **fields)
    if as_json:
        print_json(result)
    else:
        _show_result(result, "duplicated as")


@instances.command("remove")
@click.argument("instance_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@data_dir_option
def remove(instance_id: str, yes: bool, as_json: bool, data_dir: Path | None) -> None:
    """Stop INSTANCE_ID gracefully and remove it from the configuration."""
    if not yes:
        click.confirm(f"Remove instance {instance_id!r}? Its evidence stays.", abort=True)
    result = call(data_dir, "remove_agent_instance", instance_id=instance_id)
    if as_json:
        print_json(result)
    else:
        console.print(f"removed [bold]{instance_id}[/bold]")


def _update(data_dir: Path | None, as_json: bool, instance_id: str, **fields: Any) -> None:
    result = call(data_dir, "update_agent_instance", instance_id=instance_id, **fields)
    if as_json:
        print_json(result)
        return
    changed = ", ".join(result["changed"]) or "nothing"
    note = ""
    if result["restarted"]:
        note = " (restarted)"
    elif result["restart_required"]:
        note = " (takes effect at the next restart)"
    console.print(f"updated [bold]{instance_id}[/bold]: {changed}{note}")


@instances.command("set")
@click.argument("instance_id")
@click.argument("params", nargs=-1)
@click.option("--label", help="New label.")
@_flush
@_heartbeat
@_cpu
@_client
@click.option("--no-restart", is_flag=True, help="Persist only; apply at the next restart.")
@json_option
@data_dir_option
def set_(
    instance_id: str,
    params: tuple[str, ...],
    label: str | None,
    flush_interval: float | None,
    heartbeat_interval: float | None,
    cpu_budget: float | None,
    client: str | None,
    no_restart: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Change parameters (key=value; key= resets to the default) or settings."""
    fields = _settings_fields(flush_interval, heartbeat_interval, cpu_budget, client)
    if params:
        fields["params"] = parse_assignments(params)
    if label is not None:
        fields["instance_label"] = label
    if not fields:
        raise click.UsageError("nothing to change: give key=value parameters or an option")
    _update(data_dir, as_json, instance_id, restart=not no_restart, **fields)


@instances.command("enable")
@click.argument("instance_id")
@json_option
@data_dir_option
def enable(instance_id: str, as_json: bool, data_dir: Path | None) -> None:
    """Enable INSTANCE_ID (and start it)."""
    _update(data_dir, as_json, instance_id, enabled=True)


@instances.command("disable")
@click.argument("instance_id")
@json_option
@data_dir_option
def disable(instance_id: str, as_json: bool, data_dir: Path | None) -> None:
    """Disable INSTANCE_ID (and stop it gracefully)."""
    _update(data_dir, as_json, instance_id, enabled=False)
