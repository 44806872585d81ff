"""``mimolo report``: timecards, invoices and CSV from the derived timeline, via reporters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from mimolo.cli.timeline import print_warnings, resolve_window
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.evidence.pack import PackSource, build_pack, default_pack_path, write_pack
from mimolo.operations.host_key import host_public_key_path
from mimolo.reports.params import FORMATS
from mimolo.reports.runner import DEFAULT_TIMEOUT_S, run_report_sync
from mimolo.reports.templates import copy_templates, list_templates
from mimolo.timeline import (
    Segment,
    TimelinePolicy,
    cache_for,
    policy_from_config,
    timeline_for,
)
from mimolo.timeline.models import DEFAULT_COOLDOWN_S

_F = Callable[..., Any]

_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root."
)


def _common(kind: str) -> Callable[[_F], _F]:
    """Options every report kind takes."""

    def wrap(fn: _F) -> _F:
        options = [
            click.option("--from", "start", metavar="DATE", help="First UTC day (or ISO time)."),
            click.option("--to", "end", metavar="DATE", help="Last UTC day, inclusive."),
            click.option("--client", "client_id", metavar="ID", help="Only this client's work."),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS[kind]),
                default=FORMATS[kind][0],
                show_default=True,
            ),
            click.option(
                "--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file."
            ),
            click.option("--title", help="Document title."),
            click.option(
                "--cooldown",
                type=click.FloatRange(min=0),
                default=None,
                help="Seconds of inactivity that still join one segment "
                f"[default: settings.cooldown_s, else {DEFAULT_COOLDOWN_S:g}].",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=1),
                default=DEFAULT_TIMEOUT_S,
                show_default=True,
                help="Seconds before the reporter is stopped.",
            ),
            _DATA_DIR,
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


class _Generated(NamedTuple):
    """What a finished report was made from (an evidence pack needs all of it)."""

    root: DataRoot
    path: Path
    segments: list[Segment]
    policy: TimelinePolicy
    window: tuple[datetime, datetime]
    client_id: str | None


def _generate(kind: str, opts: dict[str, Any], extra: dict[str, Any]) -> _Generated:
    console = Console()
    begin, stop = resolve_window(opts["start"], opts["end"])
    root = DataRoot.resolve(opts["data_dir"])
    policy, config_warnings = policy_from_config(root, cooldown_s=opts["cooldown"])
    try:
        timeline, warnings = timeline_for(
            root, begin, stop, policy, client_id=opts["client_id"], cache=cache_for(root)
        )
        print_warnings(Console(stderr=True), [*config_warnings, *warnings])
        params: dict[str, Any] = {
            "from": begin.isoformat(),
            "to": stop.isoformat(),
            "format": opts["fmt"],
            "client_id": opts["client_id"],
            "title": opts["title"],
            **{k: v for k, v in extra.items() if v is not None},
        }
        if opts["out"] is not None:
            params["output_path"] = str(opts["out"])
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[note]}"),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(kind, total=100, note="")

            def on_progress(percent: float, message: str) -> None:
                bar.update(task, completed=percent, note=message)

            result = run_report_sync(
                root, kind, params, timeline.segments, on_progress, timeout_s=opts["timeout"]
            )
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc
    hours = timeline.total_s / 3600
    console.print(
        f"Wrote {result.path} ({result.mime}, {result.bytes} bytes, sha256 {result.sha256[:12]}…): "
        f"{len(timeline.segments)} segments, {hours:.2f} h"
    )
    return _Generated(
        root, Path(result.path), timeline.segments, policy, (begin, stop), opts["client_id"]
    )


def _write_pack(done: _Generated, out: Path | None, with_artifacts: bool) -> None:
    """The evidence pack of the invoice just generated (refused with the reason if the
    evidence behind it does not verify)."""
    target = out or default_pack_path(done.path)
    try:
        source = PackSource(
            root=done.root,
            public_key_pem=host_public_key_path(done.root).read_bytes(),
            segments=done.segments,
            policy=done.policy,
            window=done.window,
            client_id=done.client_id,
            pdf=done.path.read_bytes(),
            with_artifacts=with_artifacts,
        )
        write_pack(target, build_pack(source))
    except FileNotFoundError as exc:
        raise click.ClickException(f"no host key, so no evidence pack: {exc}") from exc
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc
    Console().print(
        f"Wrote evidence pack {target}; anyone can check it with "
        f"`mimolo evidence pack-verify {target.name}` or its own verify/verify_pack.py"
    )


@click.group("report")
def report() -> None:
    """Generate timecards, invoices and CSV from the derived timeline."""


@report.command("timecard")
@_common("timecard")
def timecard(**opts: Any) -> None:
    """A timecard: segments per day with totals (Markdown, HTML or PDF)."""
    _generate("timecard", opts, {})


@report.command("invoice")
@_common("invoice")
@click.option("--rate", required=True, help="Hourly rate, e.g. 85 or 92.50.")
@click.option("--currency", default="EUR", show_default=True, help="Three-letter code.")
@click.option("--invoice-number", help="Invoice number (default: from the period and client).")
@click.option("--bill-to", help="Who the invoice is addressed to (default: the client id).")
@click.option("--issuer", help="Your name/address as printed on the invoice.")
@click.option(
    "--evidence-pack",
    "evidence_pack",
    metavar="[FILE]",
    is_flag=False,
    flag_value="-",
    default=None,
    help="Also write an evidence pack (zip) [default FILE: the invoice's name .evidence.zip].",
)
@click.option(
    "--with-artifacts",
    is_flag=True,
    help="With --evidence-pack: include the artifact files themselves, not only their hashes.",
)
def invoice(
    rate: str,
    currency: str,
    invoice_number: str | None,
    bill_to: str | None,
    issuer: str | None,
    evidence_pack: str | None,
    with_artifacts: bool,
    **opts: Any,
) -> None:
    """An invoice: hours per day times the hourly rate (PDF or HTML)."""
    if evidence_pack is not None and opts["fmt"] != "pdf":
        raise click.BadParameter("an evidence pack needs the PDF invoice", param_hint="--format")
    if with_artifacts and evidence_pack is None:
        raise click.BadParameter("needs --evidence-pack", param_hint="--with-artifacts")
    extra = {
        "rate": rate,
        "currency": currency.upper(),
        "invoice_number": invoice_number,
        "bill_to": bill_to,
        "issuer": issuer,
    }
    done = _generate("invoice", opts, extra)
    if evidence_pack is not None:
        _write_pack(done, None if evidence_pack == "-" else Path(evidence_pack), with_artifacts)


@report.command("csv")
@_common("csv")
def csv_report(**opts: Any) -> None:
    """CSV rows: date, start, end, duration_h, client, instances."""
    _generate("csv", opts, {})


@report.command("templates")
@click.option("--copy", is_flag=True, help="Put editable copies under the data root.")
@click.option("--force", is_flag=True, help="With --copy: overwrite existing copies.")
@_DATA_DIR
def templates(copy: bool, force: bool, data_dir: Path | None) -> None:
    """List report templates (user copies take precedence) or copy them for editing."""
    root = DataRoot.resolve(data_dir)
    console = Console()
    if copy:
        written = copy_templates(root.templates_dir, overwrite=force)
        console.print(f"Copied {len(written)} templates into {root.templates_dir}")
    table = Table(title="Report templates")
    table.add_column("template")
    table.add_column("source")
    table.add_column("path", overflow="fold")
    for info in list_templates(root.templates_dir):
        table.add_row(info.name, info.source, info.path)
    console.print(table)
