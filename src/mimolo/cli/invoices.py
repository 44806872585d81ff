"""``mimolo invoices list|issue|void``: issued invoices lock what they bill.

``issue`` and ``void`` go through Operations (it computes the figures over the reviewed
timeline, allocates the number and appends the entry); ``list`` reads the journal file.
A draft is not recorded: that is ``mimolo report invoice``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.cli.adjust import full_id
from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.cli.review_args import iso, local, read_config, window
from mimolo.timeline.review_io import read_invoices

console = Console(highlight=False)


@click.group("invoices")
def invoices() -> None:
    """Issued invoices: numbered, locked, voided only explicitly."""


def _figures_line(entry: dict[str, Any]) -> str:
    f = entry.get("figures") or {}
    hours, rate = f.get("hours", "?"), f.get("rate", "?")
    return f"{hours} h x {rate} = {f.get('amount', '?')} {f.get('currency', '')}"


def period(start: datetime | None, end: datetime | None, zone: ZoneInfo) -> str:
    """The local days an invoice bills, the last one inclusive."""
    if start is None or end is None:
        return "-"
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return f"{start.astimezone(zone).date()} to {last}"


@invoices.command("issue")
@click.argument("client_id")
@click.option(
    "--from", "start", required=True, metavar="DATE", help="First local day (or ISO time)."
)
@click.option("--to", "end", required=True, metavar="DATE", help="Last local day, inclusive.")
@click.option("--project", default=None, help="Only this project of the client.")
@click.option("--rate", default=None, help="Hourly rate (decimal); default from the settings.")
@click.option("--currency", default=None, help="Currency code; default from the settings.")
@json_option
@data_dir_option
def issue(
    client_id: str, start: str, end: str, project: str | None, rate: str | None,
    currency: str | None, as_json: bool, data_dir: Path | None,
) -> None:  # fmt: skip
    """Issue an invoice: Operations records it and locks CLIENT_ID over the range."""
    read = read_config(data_dir)
    lo, hi = window(start, end, read.zone)
    assert lo is not None and hi is not None
    fields: dict[str, Any] = {
        "client_id": client_id,
        "start": iso(lo),
        "end": iso(hi),
        "via": "cli",
    }
    for key, value in (("project", project), ("rate", rate), ("currency", currency)):
        if value is not None:
            fields[key] = value
    entry = call(data_dir, "issue_invoice", **fields)["invoice"]
    if as_json:
        print_json(entry)
        return
    console.print(
        f"issued {entry['number']} ({entry['id']}) to {escape(client_id)}"
        f"{'/' + escape(project) if project else ''}: {local(entry['start'], read.zone)} to "
        f"{local(entry['end'], read.zone)} ({entry['timezone']}); {_figures_line(entry)}"
    )


@invoices.command("void")
@click.argument("invoice_id")
@click.option("--reason", required=True, help="Why it is voided (kept in the audit).")
@json_option
@data_dir_option
def void(invoice_id: str, reason: str, as_json: bool, data_dir: Path | None) -> None:
    """Void an issued invoice (by id, an id prefix, or its number): lifts its lock."""
    read = read_config(data_dir)
    issued = [e for e in read_invoices(read.root) if e.kind == "issued"]
    by_number = {e.number: e.id for e in issued}
    target = by_number.get(invoice_id) or full_id(invoice_id, [e.id for e in issued])
    entry = call(data_dir, "void_invoice", id=target, reason=reason, via="cli")["invoice"]
    if as_json:
        print_json(entry)
    else:
        console.print(f"voided {entry['number']} ({entry['voids']}); its number stays used")


@invoices.command("list")
@click.option("--year", type=int, default=None, help="Only invoices numbered in this year.")
@json_option
@data_dir_option
def list_invoices(year: int | None, as_json: bool, data_dir: Path | None) -> None:
    """Issued invoices from the journal file (no Operations needed)."""
    read = read_config(data_dir)
    entries = read_invoices(read.root)
    voids = {e.voids: e for e in entries if e.kind == "voided" and e.voids}
    rows = [e for e in entries if e.kind == "issued" and (year is None or e.year == year)]
    if as_json:
        print_json(
            [
                {**msgspec.to_builtins(e), "voided_by": voids[e.id].id if e.id in voids else None}
                for e in rows
            ]
        )
        return
    table = Table(title=f"Invoices ({read.zone_name})")
    for name in ("number", "client", "period", "hours", "amount", "state"):
        right = name in ("hours", "amount")
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for e in rows:
        f = e.figures
        state = f"voided ({escape(voids[e.id].reason)})" if e.id in voids else "issued, locked"
        table.add_row(
            e.number, escape(e.client_id + (f"/{e.project}" if e.project else "")),
            period(e.start, e.end, read.zone), f.hours if f else "-",
            f"{f.amount} {f.currency}" if f else "-", state,
        )  # fmt: skip
    console.print(table)


__all__ = ["invoices"]
