"""``mimolo ops`` (run Operations in the foreground) and ``mimolo status``."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import msgspec
from rich import box
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from mimolo import APP_VERSION
from mimolo.cli.agents_cmd import ops_stop
from mimolo.cli.ipc_call import live_status
from mimolo.cli.status_header import StatusHeader
from mimolo.dataroot import DataRoot, open_private
from mimolo.errors import AlreadyRunning, ConfigError, MimoloError
from mimolo.operations.agent_state import AgentState
from mimolo.operations.snapshot import StatusView, live_view, read_status
from mimolo.operations.supervisor import SupervisorEvent

_STATE_STYLE = {
    "running": "green",
    "starting": "cyan",
    "stopping": "cyan",
    "stopped": "dim",
    "backoff": "yellow",
    "quarantined": "red",
    "rejected": "red",
    "failed": "red",
    "untrusted": "red",
}
_HEALTH_STYLE = {
    "healthy": "green",
    "degraded": "yellow",
    "over_budget": "yellow",
    "quarantined": "red",
    "unknown": "dim",
}

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data root (default: $MIMOLO_DATA_DIR or the user data dir).",
)


def _configure_logging(data_root: DataRoot, console: Console) -> None:
    """Rich console (warnings and up from libraries) plus a rotating file under logs/."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)
    log_path = data_root.logs_dir / "operations.log"
    os.close(open_private(log_path))  # create it 0600 before the handler opens it
    file_handler = logging.handlers.RotatingFileHandler(
        log_path, maxBytes=5 * 2**20, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)


@click.group("ops", invoke_without_command=True)
@data_dir_option
@click.option(
    "--extra-templates",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    hidden=True,
    help="Test only: also load agent templates (*.json) from this directory.",
)
@click.option(
    "--developer-mode",
    is_flag=True,
    help="Install and run agent packages without a trusted signature or allowlist entry "
    "(shown as UNVERIFIED; warned at every start).",
)
@click.pass_context
def ops(
    ctx: click.Context, data_dir: Path | None, extra_templates: Path | None, developer_mode: bool
) -> None:
    """Run Operations in the foreground: supervise agents and keep the evidence.

    `mimolo ops stop` stops a running Operations instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mimolo.ipc.server.api import control_socket_service
    from mimolo.operations.service import Operations

    console = Console(stderr=False, highlight=False)
    data_root = DataRoot.resolve(data_dir).ensure()
    _configure_logging(data_root, console)

    def on_event(event: SupervisorEvent) -> None:
        style = _STATE_STYLE.get(event.state, "")
        detail = f" [dim]({event.detail})[/dim]" if event.detail else ""
        console.print(f"  {event.instance_id}: [{style}]{event.state}[/{style}]{detail}")

    resolve = None
    if extra_templates is not None:
        from mimolo.operations.config import builtin_resolver
        from mimolo.operations.extra_templates import (
            chain_resolvers,
            load_extra_templates,
            warn_loaded,
        )

        try:
            extra = load_extra_templates(extra_templates)
            resolve = chain_resolvers(builtin_resolver(), extra)
        except MimoloError as exc:
            console.print("[red]invalid extra templates:[/red]", end=" ")
            console.print(str(exc), markup=False)
            sys.exit(2)
        warn_loaded(extra_templates, extra)  # a warning: the console handler shows it
    operations = Operations(
        data_root,
        resolve=resolve,
        listener=on_event,
        extra_services=[control_socket_service],
        developer_mode=developer_mode,
    )
    console.print(
        f"[bold]MiMoLo Operations[/bold] {APP_VERSION} (pid {os.getpid()}) "
        f"data root [cyan]{data_root.root}[/cyan]"
    )
    try:
        asyncio.run(operations.run())
    except AlreadyRunning as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except ConfigError as exc:
        console.print(f"[red]invalid configuration[/red] ({data_root.config_path}): {exc}")
        sys.exit(2)
    except MimoloError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    console.print("Operations stopped.")


def _age(ts: datetime | None, now: datetime) -> str:
    if ts is None:
        return "-"
    secs = max(0.0, (now - ts).total_seconds())
    if secs < 120:
        return f"{secs:.0f}s"
    if secs < 7200:
        return f"{secs / 60:.0f}m"
    return f"{secs / 3600:.1f}h"


def _uptime(state: AgentState, now: datetime) -> str:
    if state.started_at is None:
        return "-"
    secs = (now - state.started_at).total_seconds()
    return (
        f"{secs / 3600:.1f}h"
        if secs >= 3600
        else f"{secs / 60:.1f}m"
        if secs >= 60
        else f"{secs:.0f}s"
    )


def print_status(
    view: StatusView,
    console: Console,
    *,
    now: datetime | None = None,
    header: StatusHeader | None = None,
) -> None:
    """Render a status view (live from Operations, or its last snapshot) as a rich table.

    ``header`` adds what only a live answer knows (diagnostics drops, containment) and,
    when the live answer failed, why the snapshot is shown instead.
    """
    now = now or datetime.now(UTC)
    header = header or StatusHeader()
    snap = view.snapshot
    if not view.running:
        when = f" (last snapshot from {snap.written_at:%Y-%m-%d %H:%M:%S} UTC)" if snap else ""
        console.print(f"[yellow]Operations is not running[/yellow]{when}")
    elif snap is not None:
        cpu = f"{snap.ops_cpu_percent:.1f}%" if snap.ops_cpu_percent is not None else "-"
        rss = f"{snap.ops_rss_mb:.0f} MB" if snap.ops_rss_mb is not None else "-"
        console.print(
            f"[green]Operations is running[/green] (pid {view.pid}, {snap.version}, "
            f"since {snap.started_at:%Y-%m-%d %H:%M:%S} UTC, cpu {cpu}, rss {rss}, "
            f"ledger seq {snap.ledger_last_seq}, {header.figures()})"
            + (
                ""
                if view.source == "live"
                else f" [dim]snapshot of {snap.written_at:%H:%M:%S}[/dim]"
            )
        )
    else:
        console.print(f"[green]Operations is running[/green] (pid {view.pid}; no snapshot yet)")
    if view.running and header.live_error:
        console.print(header.unavailable_line(snap.written_at if snap else None))
    sync_line = header.sync_line() if view.running else None
    if sync_line is not None:
        console.print(sync_line)
    if snap is None or not snap.instances:
        if snap is not None:
            console.print("No agent instances configured.")
        return
    table = Table(
        show_header=True,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("instance", no_wrap=True)
    for column in ("state", "health", "pid", "up", "beat"):
        table.add_column(column, no_wrap=True)
    for column in ("cpu%", "MB", "sums", "rst", "drop"):
        table.add_column(column, justify="right", no_wrap=True)
    errors: list[str] = []
    for st in snap.instances:
        live = view.running and st.state in ("running", "starting", "stopping")
        state_style = _STATE_STYLE.get(st.state, "")
        health_style = _HEALTH_STYLE.get(st.health, "")
        table.add_row(
            st.instance_id if st.verified else f"{st.instance_id} [yellow]UNVERIFIED[/yellow]",
            f"[{state_style}]{st.state}[/{state_style}]",
            f"[{health_style}]{st.health}[/{health_style}]",
            str(st.pid) if live and st.pid else "-",
            _uptime(st, now) if live else "-",
            _age(st.last_heartbeat_at, now),
            f"{st.cpu_percent:.1f}" if st.cpu_percent is not None else "-",
            f"{st.rss_mb:.0f}" if st.rss_mb is not None else "-",
            str(st.summaries),
            str(st.restarts),
            str(st.drops),
        )
        if st.last_error:
            errors.append(f"  {st.instance_id} ({st.plugin_id}): {st.last_error}")
    console.print(table)
    if errors:
        console.print("[bold]Last errors[/bold]")
        for line in errors:
            console.print(line, markup=False)


@click.command("status")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(data_dir: Path | None, as_json: bool) -> None:
    """Show whether Operations runs and the state of every agent instance."""
    data_root = DataRoot.resolve(data_dir)
    view = read_status(data_root)
    header = StatusHeader()
    if view.running:
        live = live_status(data_root.root)
        view, header = StatusHeader.resolve(view, live, live_view)
    if as_json:
        click.echo(msgspec.json.encode({**msgspec.to_builtins(view), **header.as_json()}).decode())
        return
    print_status(view, Console(highlight=False), header=header)


ops.add_command(ops_stop)

__all__ = ["ops", "print_status", "status"]
