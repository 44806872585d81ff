"""``mimolo sync``: ship this machine's ledger, checkpoints and review files to the team
store (docs/team.md), once or until interrupted, with a progress bar."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from mimolo.backoff import backoff_delay
from mimolo.dataroot import DataRoot
from mimolo.errors import TeamStoreError
from mimolo.protocol.config_schema import SyncSettings
from mimolo.team.service import BACKOFF_INITIAL_S, BACKOFF_MAX_S, describe_target
from mimolo.team.sync import BatchResult, PassResult, Shipper
from mimolo.timeline.policy import read_config


def configured_sync(root: DataRoot) -> SyncSettings | None:
    """The ``[sync]`` section of this data root's config, when it has a usable one."""
    return read_config(root)[0].sync


def _pass(shipper: Shipper, console: Console, *, quiet: bool) -> PassResult:
    acked = shipper.acknowledged().seq
    local = shipper.local_seq()
    if quiet or local <= acked:
        return shipper.run_pass()
    with Progress(
        TextColumn("shipping records"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("records", total=local - acked)

        def advance(batch: BatchResult) -> None:
            progress.update(task, completed=min(local, batch.acked_seq) - acked)

        return shipper.run_pass(on_batch=advance)


def _summary(result: PassResult, shipper: Shipper) -> dict[str, Any]:
    return {
        "host_id": shipper.host_id,
        "records": result.records,
        "batches": result.batches,
        "chain_breaks": result.breaks,
        "checkpoints": result.checkpoints,
        "review_entries": result.review_entries,
        "acked_seq": result.acked_seq,
        "local_seq": result.local_seq,
        "lag_records": max(0, result.local_seq - result.acked_seq),
    }


def _print(console: Console, summary: dict[str, Any]) -> None:
    console.print(
        f"shipped {summary['records']} record(s), {summary['checkpoints']} checkpoint(s), "
        f"{summary['review_entries']} review entr(ies); the store holds up to seq "
        f"{summary['acked_seq']} of {summary['local_seq']}"
    )
    if summary["chain_breaks"]:
        console.print(
            f"[red]{summary['chain_breaks']} chain break(s) flagged on arrival[/red] "
            "(see mimolo.chain_breaks in the store)"
        )


@click.command("sync")
@click.option("--once", is_flag=True, help="One pass until caught up, then exit.")
@click.option(
    "--conninfo",
    metavar="CONNINFO",
    help="libpq conninfo, URI or service=NAME (default: [sync] conninfo, else the PG* "
    "variables). Passwords belong in ~/.pgpass, never here.",
)
@click.option("--batch-size", type=click.IntRange(1, 100_000), help="Records per transaction.")
@click.option("--interval", type=click.FloatRange(0.1), help="Seconds between passes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per pass.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root.")
def sync(
    once: bool,
    conninfo: str | None,
    batch_size: int | None,
    interval: float | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Ship this machine's ledger to the team store (PostgreSQL)."""
    root = DataRoot.resolve(data_dir)
    settings = configured_sync(root) or SyncSettings()
    target = conninfo if conninfo is not None else settings.conninfo
    console = Console(stderr=as_json)
    try:
        shipper = Shipper(root, target, batch_size=batch_size or settings.batch_size)
    except TeamStoreError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    wait = interval if interval is not None else settings.interval_s
    stop = threading.Event()
    failures = 0
    if not as_json:
        console.print(f"host {shipper.host_id} -> {escape(describe_target(target))}")
    try:
        while not stop.is_set():
            try:
                result = _pass(shipper, console, quiet=as_json)
            except TeamStoreError as exc:
                if once:
                    raise click.ClickException(f"{exc.code}: {exc.message}") from exc
                delay = backoff_delay(
                    failures, initial_s=BACKOFF_INITIAL_S, max_s=max(BACKOFF_MAX_S, wait)
                )
                failures += 1
                console.print(
                    f"[yellow]{exc.code}[/yellow]: {escape(exc.message)}; retrying in {delay:.0f} s"
                )
                time.sleep(delay)
                continue
            failures = 0
            summary = _summary(result, shipper)
            if as_json:
                click.echo(json.dumps(summary))
            else:
                _print(console, summary)
            if once:
                if summary["chain_breaks"]:
                    raise SystemExit(1)
                return
            time.sleep(wait if result.caught_up else 0)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        shipper.close()
