"""``mimolo timeline``: derived work segments per day and totals per client, from the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.timeline import ReadWarning, Timeline, cache_for, policy_from_config, timeline_for
from mimolo.timeline.models import DEFAULT_COOLDOWN_S

DEFAULT_DAYS = 7


def parse_bound(value: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a whole UTC day; ``end`` means the day's end) or an ISO-8601 instant."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO-8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The query window; by default the last seven UTC days including today."""
    today = datetime.now(UTC).date()
    stop = parse_bound(end, end=True) if end else parse_bound(today.isoformat(), end=True)
    if start:
        begin = parse_bound(start, end=False)
    else:
        first = stop.date() - timedelta(days=DEFAULT_DAYS)
        begin = datetime(first.year, first.month, first.day, tzinfo=UTC)
    if stop <= begin:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    return begin, stop


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def print_warnings(
    console: Console, warnings: Sequence[ReadWarning | str], limit: int = 20
) -> None:
    for warning in warnings[:limit]:
        console.print(f"[yellow]warning:[/yellow] {escape(str(warning))}", highlight=False)
    if len(warnings) > limit:
        console.print(f"[yellow]… and {len(warnings) - limit} more warnings[/yellow]")


def render(console: Console, timeline: Timeline) -> None:
    """Segments grouped by UTC day, then totals per client."""
    table = Table(title="Work segments (derived, UTC)")
    for name in ("day", "start", "end", "duration", "clients", "instances", "summaries"):
        table.add_column(
            name,
            justify="right" if name in ("duration", "summaries") else "left",
            no_wrap=name != "instances",
        )
    last_day: date | None = None
    for seg in timeline.segments:
        day = seg.start.date()
        table.add_row(
            day.isoformat() if day != last_day else "",
            f"{seg.start:%H:%M:%S}",
            f"{seg.end:%H:%M:%S}" if seg.end.date() == day else f"{seg.end:%m-%d %H:%M:%S}",
            hours(seg.duration_s),
            ", ".join(seg.client_ids) or "-",
            ", ".join(seg.instances),
            str(seg.summary_count),
        )
        last_day = day
    console.print(table)
    days = Table(title="Per day")
    days.add_column("day")
    days.add_column("total", justify="right")
    days.add_column("per client")
    for total in timeline.per_day:
        split = ", ".join(f"{k} {hours(v)}" for k, v in total.per_client.items())
        days.add_row(total.day.isoformat(), hours(total.duration_s), split)
    console.print(days)
    clients = Table(title="Per client")
    clients.add_column("client")
    clients.add_column("total", justify="right")
    for client, seconds in timeline.per_client.items():
        clients.add_row(client, hours(seconds))
    clients.add_row("[bold]all[/bold]", f"[bold]{hours(timeline.total_s)}[/bold]")
    console.print(clients)


@click.command("timeline")
@click.option("--from", "start", metavar="DATE", help="First UTC day (or ISO time).")
@click.option("--to", "end", metavar="DATE", help="Last UTC day, inclusive (or ISO time).")
@click.option("--client", "client_id", metavar="ID", help="Only this client's work.")
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=None,
    help=f"Seconds of inactivity that still join one segment "
    f"[default: settings.cooldown_s, else {DEFAULT_COOLDOWN_S:g}].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root.")
def timeline(
    start: str | None,
    end: str | None,
    client_id: str | None,
    cooldown: float | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Derive work segments from the evidence ledger (read-only)."""
    begin, stop = resolve_window(start, end)
    root = DataRoot.resolve(data_dir)
    console = Console(stderr=as_json)
    policy, config_warnings = policy_from_config(root, cooldown_s=cooldown)
    try:
        result, warnings = timeline_for(
            root, begin, stop, policy, client_id=client_id, cache=cache_for(root)
        )
    except MimoloError as exc:
        raise click.ClickException(str(exc)) from exc
    print_warnings(Console(stderr=True), [*config_warnings, *warnings])
    if as_json:
        payload = {
            "from": begin,
            "to": stop,
            "cooldown_s": policy.cooldown_s,
            "client_id": client_id,
            "segments": result.segments,
            "per_day": result.per_day,
            "per_client": result.per_client,
            "total_s": result.total_s,
            "warnings": [str(w) for w in warnings],
        }
        click.echo(msgspec.json.encode(payload).decode())
        return
    console.print(
        f"Timeline {begin:%Y-%m-%d %H:%M} → {stop:%Y-%m-%d %H:%M} UTC, data root {root.root}"
    )
    if not result.segments:
        console.print("No work segments in this window.")
        return
    render(console, result)
