"""``mimolo evidence verify|anchor``: prove the ledger was not edited, deleted or reordered."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import (
    Report,
    checkpoint_files,
    load_public_key,
    read_checkpoints,
    verify,
)
from mimolo.operations.host_key import host_public_key_path
from mimolo.protocol.chain import anchor_string

_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root."
)


@click.group("evidence")
def evidence() -> None:
    """Check the evidence ledger's hash chain and signed checkpoints."""


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)", param_hint=name) from None


def _public_key(root: DataRoot, key: Path | None) -> bytes | None:
    path = key or host_public_key_path(root)
    try:
        return load_public_key(path)
    except FileNotFoundError:
        if key is not None:
            raise click.BadParameter(f"{key}: no such file", param_hint="--key") from None
        return None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@evidence.command("verify")
@click.option("--from", "day_from", metavar="DAY", help="First UTC day to verify (YYYY-MM-DD).")
@click.option("--to", "day_to", metavar="DAY", help="Last UTC day to verify, inclusive.")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="STRING",
    help="An anchor printed earlier by `mimolo evidence anchor`; the chain must still hold it.",
)
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The host public key (PEM) [default: trust/host_ed25519.pub of the data root].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_DATA_DIR
def verify_cmd(
    day_from: str | None,
    day_to: str | None,
    anchors: tuple[str, ...],
    key: Path | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Walk the chain and the checkpoints; exit 1 naming file, line and kind of every problem."""
    root = DataRoot.resolve(data_dir)
    report = verify(
        root.evidence_dir,
        _public_key(root, key),
        day_from=_day(day_from, "--from"),
        day_to=_day(day_to, "--to"),
        anchors=anchors,
    )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report) | {"ok": report.ok}, indent=1))
    else:
        _render(Console(), report)
    if not report.ok:
        raise SystemExit(1)


def _render(console: Console, report: Report) -> None:
    table = Table(title="Evidence chain", show_lines=False)
    for column in ("day", "records", "seqs", "status"):
        table.add_column(column)
    for day in report.days:
        seqs = f"{day.first_seq}-{day.last_seq}" if day.first_seq is not None else "-"
        status = day.status
        if day.status == "broken":
            status = f"[red]broken at line {day.broken_line or '?'}[/red]"
        elif day.status == "verified":
            status = "[green]verified[/green]"
        table.add_row(day.day, str(day.records), seqs, status)
    console.print(table)
    for p in report.problems:
        where = f"{p.file}:{p.line}" if p.line else p.file
        console.print(f"[red]{p.kind}[/red] {escape(where)}: {escape(p.message)}")
    summary = (
        f"{report.records} chained records, {report.checkpoints} valid checkpoints"
        + (f", {report.unchained} from before the chain" if report.unchained else "")
        + (f", host key {report.key_id}" if report.key_id else ", no host key found")
    )
    verdict = "[green]ok[/green]" if report.ok else f"[red]{len(report.problems)} problem(s)[/red]"
    console.print(f"{summary}: {verdict}")


@evidence.command("anchor")
@_DATA_DIR
def anchor_cmd(data_dir: Path | None) -> None:
    """Print the newest signed checkpoint as a short string to keep outside this machine."""
    root = DataRoot.resolve(data_dir)
    for _, path in reversed(checkpoint_files(root.evidence_dir)):
        try:
            entries = read_checkpoints(path)
        except (OSError, ValueError):
            continue
        if entries:
            latest = entries[-1]
            click.echo(anchor_string(latest))
            click.echo(
                f"# {latest.get('kind')} of {latest.get('day')} at {latest.get('time')}: "
                "paste it into an email or a ticket; `mimolo evidence verify --anchor` checks it",
                err=True,
            )
            return
    raise click.ClickException("no signed checkpoint yet (Operations writes one at shutdown)")


__all__ = ["evidence"]


@evidence.command("pack-verify")
@click.argument("pack", type=click.Path(exists=True, path_type=Path))
def pack_verify_cmd(pack: Path) -> None:
    """Check an evidence pack (zip or extracted folder) as its own verifier would; exit 1 if
    anything differs."""
    from mimolo.evidence.verify_pack import verify_pack

    try:
        outcome = verify_pack(pack)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"refused: {exc}") from exc
    for problem in outcome.problems:
        click.echo(f"DIFFERS: {problem}")
    click.echo(("OK: " if outcome.ok else "FAILED: ") + outcome.summary)
    if not outcome.ok:
        raise SystemExit(1)
