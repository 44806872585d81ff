"""``mimolo adjust add|revoke|list``: corrections as an append-only journal.

``add`` and ``revoke`` go through Operations (the journal's only writer, which checks
each against locks, overlaps and known clients); ``list`` reads the journal file itself.
Times without a zone are read in the configured ``timezone``; a bare date is that local day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.cli.review_args import (
    assign_options,
    assignment,
    iso,
    local,
    parse_time,
    read_config,
    window,
)
from mimolo.cli.rules import describe_assign
from mimolo.operations.review_checks import revoked_by
from mimolo.timeline.review_io import read_adjustments

console = Console(highlight=False)

KINDS = {
    "manual": "manual_entry",
    "assign": "assign_range",
    "exclude": "exclude_range",
    "idle-keep": "idle_keep",
    "idle-discard": "idle_discard",
    "idle-split": "idle_split",
}


@click.group("adjust")
def adjust() -> None:
    """Corrections: manual entries, assign / exclude a range, idle keep / discard / split."""


def _print(entry: dict[str, Any], zone: Any, verb: str) -> None:
    span = f"{local(entry.get('start'), zone)} to {local(entry.get('end'), zone)}"
    what = entry["kind"] if entry["kind"] != "revoke" else f"revoke of {entry['revokes']}"
    console.print(f"{verb} {entry['id']} (#{entry['seq']}): {what}" + (
        f", {span}" if entry.get("start") else ""
    ))  # fmt: skip


def full_id(given: str, ids: list[str]) -> str:
    """An id, or a prefix of exactly one id in the journal (as ``list`` shows them)."""
    if given in ids:
        return given
    found = [i for i in ids if i.startswith(given)] if len(given) >= 4 else []
    if len(found) > 1:
        raise click.BadParameter(f"{given!r} is the start of {len(found)} ids; give more")
    return found[0] if found else given  # unknown: Operations answers why


def span(row: dict[str, Any], zone: Any) -> str:
    """``2026-03-02 09:00-10:00`` (the end's date only when it differs)."""
    start, end = local(row.get("start"), zone), local(row.get("end"), zone)
    if start == "-":
        return "-"
    return f"{start}-{end[11:] if end[:10] == start[:10] else end}"


@adjust.command("add")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--from", "start", required=True, metavar="TIME", help="Start (local, or ISO).")
@click.option("--to", "end", required=True, metavar="TIME", help="End (local, or ISO).")
@click.option("--split-at", metavar="TIME", help="idle-split: keep the gap up to here.")
@assign_options
@click.option("--reason", required=True, help="Why (kept in the journal and the audit).")
@json_option
@data_dir_option
def add(
    kind: str, start: str, end: str, split_at: str | None, client_id: str | None,
    project: str | None, tags: tuple[str, ...], reason: str, as_json: bool,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """Add an adjustment of KIND over --from .. --to (through Operations)."""
    zone = read_config(data_dir).zone
    fields: dict[str, Any] = {
        "kind": KINDS[kind],
        "start": iso(parse_time(start, zone, param="--from")),
        "end": iso(parse_time(end, zone, end=True, param="--to")),
        "reason": reason,
        "via": "cli",
    }
    if split_at:
        fields["split_at"] = iso(parse_time(split_at, zone, param="--split-at"))
    assign = assignment(client_id, project, tags)
    if assign:
        fields["assign"] = assign
    entry = call(data_dir, "add_adjustment", **fields)["adjustment"]
    if as_json:
        print_json(entry)
    else:
        _print(entry, zone, "added")


@adjust.command("revoke")
@click.argument("adjustment_id")
@click.option("--reason", required=True, help="Why it is undone.")
@json_option
@data_dir_option
def revoke(adjustment_id: str, reason: str, as_json: bool, data_dir: Path | None) -> None:
    """Undo an adjustment with a later revoke entry (nothing is deleted)."""
    read = read_config(data_dir)
    zone = read.zone
    full = full_id(adjustment_id, [a.id for a in read_adjustments(read.root)])
    entry = call(data_dir, "revoke_adjustment", id=full, reason=reason, via="cli")
    if as_json:
        print_json(entry["adjustment"])
    else:
        _print(entry["adjustment"], zone, "added")


@adjust.command("list")
@click.option("--from", "start", metavar="DATE", help="First local day (or ISO time).")
@click.option("--to", "end", metavar="DATE", help="Last local day, inclusive (or ISO time).")
@click.option("--all", "show_revoked", is_flag=True, help="Also revoked ones and revokes.")
@json_option
@data_dir_option
def list_adjustments(
    start: str | None, end: str | None, show_revoked: bool, as_json: bool,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """Adjustments from the journal file (no Operations needed), oldest first."""
    read = read_config(data_dir)
    lo, hi = window(start, end, read.zone, default_week=False)
    entries = read_adjustments(read.root)
    gone = revoked_by(entries)
    rows = []
    for a in entries:
        if (a.kind == "revoke" or a.id in gone) and not show_revoked:
            continue
        if a.kind != "revoke" and (
            (hi is not None and a.start is not None and a.start >= hi)
            or (lo is not None and a.end is not None and a.end <= lo)
        ):
            continue
        rows.append({**msgspec.to_builtins(a), "revoked_by": gone.get(a.id)})
    if as_json:
        print_json({"timezone": read.zone_name, "adjustments": rows})
        return
    table = Table(title=f"Adjustments ({read.zone_name})")
    for name in ("#", "id", "kind", "when", "assign", "reason", "state"):
        table.add_column(name, overflow="fold", no_wrap=name in ("#", "id"))
    for row in rows:
        state = f"revoked by {row['revoked_by'][:8]}" if row["revoked_by"] else "in force"
        if row["kind"] == "revoke":
            state = f"revokes {row['revokes'][:8]}"
        table.add_row(
            str(row["seq"]), row["id"][:8], row["kind"], span(row, read.zone),
            escape(describe_assign(row["assign"])), escape(row["reason"]), state,
        )  # fmt: skip
    console.print(table)


__all__ = ["KINDS", "adjust", "full_id"]
