"""``mimolo agents start|stop|restart|flush`` and ``mimolo ops stop``, over the control socket."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from mimolo.cli.ipc_call import (
    EXIT_OPS_DOWN,
    call,
    call_all,
    data_dir_option,
    err_console,
    json_option,
    print_json,
    socket_path,
)
from mimolo.errors import IpcError, OperationsUnavailable
from mimolo.ipc.client import request_sync

console = Console(highlight=False)

# Stop/restart wait for the graceful sequence of every agent; give them time.
_SLOW_TIMEOUT_S = 180.0

# Which states ``restart --all`` / ``flush --all`` act on.
_ALL_ACTS_ON = {"restart": ("running", "backoff"), "flush": ("running",)}
_ALL_HELP = {
    "start": "Every enabled instance that is not running.",
    "stop": "Every instance.",
    "restart": "Every running instance (and those waiting to be restarted after a crash).",
    "flush": "Every running instance.",
}


def _print_states(agents: list[dict[str, Any]]) -> None:
    table = Table("instance", "state", "health", "pid", "restarts", "last error")
    for agent in agents:
        table.add_row(
            agent["instance_id"],
            agent["state"],
            agent.get("health") or "-",
            str(agent.get("pid") or "-"),
            str(agent.get("restarts", 0)),
            agent.get("last_error") or "",
        )
    console.print(table)


def _lifecycle(
    verb: str, instance_id: str | None, all_: bool, as_json: bool, data_dir: Path | None
) -> None:
    if all_ == (instance_id is not None):
        raise click.UsageError("give either an INSTANCE_ID or --all")
    if instance_id is not None:
        result = call(data_dir, f"{verb}_agent", instance_id=instance_id, timeout=_SLOW_TIMEOUT_S)
        if as_json:
            print_json(result)
        else:
            state = (result.get("state") or {}).get("state", "?")
            console.print(f"{verb} [bold]{instance_id}[/bold]: {state}")
        return
    if verb in ("start", "stop"):
        done = call(data_dir, f"{verb}_all_agents", timeout=_SLOW_TIMEOUT_S)
        agents = done["agents"]
        if done.get("next_offset") is not None:  # more instances than one answer holds
            agents = call_all(data_dir, "get_agent_states", "agents")
    else:
        agents = call_all(data_dir, "get_agent_states", "agents")
        for agent in agents:
            if agent["state"] not in _ALL_ACTS_ON[verb]:
                continue  # a stopped or disabled instance is not restarted into running
            call(
                data_dir, f"{verb}_agent", instance_id=agent["instance_id"], timeout=_SLOW_TIMEOUT_S
            )
        agents = call_all(data_dir, "get_agent_states", "agents")
    if as_json:
        print_json({"agents": agents})
    else:
        _print_states(agents)


@click.group("agents")
def agents() -> None:
    """Start, stop, restart or flush running agent instances."""


def _make(verb: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @click.argument("instance_id", required=False)
    @click.option("--all", "all_", is_flag=True, help=_ALL_HELP[verb])
    @json_option
    @data_dir_option
    def command(instance_id: str | None, all_: bool, as_json: bool, data_dir: Path | None) -> None:
        _lifecycle(verb, instance_id, all_, as_json, data_dir)

    return command


agents.add_command(_make("start", "Start an instance (or every enabled one with --all)."))
agents.add_command(
    _make("stop", "Stop gracefully (stop, flush, shutdown: the final summary is kept).")
)
agents.add_command(_make("restart", "Stop gracefully, then start again."))
agents.add_command(_make("flush", "Ask for a summary now (it goes to the evidence ledger)."))


@click.command("stop")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait.")
@data_dir_option
def ops_stop(timeout: float, data_dir: Path | None) -> None:
    """Stop Operations: every agent gracefully, evidence flushed, then exit."""
    call(data_dir, "shutdown_operations")
    path = socket_path(data_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request_sync(path, "ping", timeout=5)
        except OperationsUnavailable:
            console.print("Operations stopped.")
            return
        except IpcError:
            pass  # shutting down: still answering, not for long
        time.sleep(0.2)
    err_console.print(f"[red]Operations still answers after {timeout:g} s[/red]")
    raise SystemExit(EXIT_OPS_DOWN + 1)


__all__ = ["agents", "ops_stop"]
