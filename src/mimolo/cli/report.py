"""``mimolo report``: timecards, invoices and CSV from the reviewed timeline, via reporters.

Days are local days in ``settings.timezone``; segments are evidence → rules → adjustments
→ locks; every document shows how its billable time was derived. ``report invoice`` is a
draft (nothing recorded, no number used) unless ``--issue`` asks Operations to issue it
(``issue_invoice``), and ``--number`` reproduces an issued invoice from its locked entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import click
import msgspec
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from mimolo.cli.ipc_call import call
from mimolo.cli.timeline import print_warnings
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.evidence.pack import PackSource, build_pack, default_pack_path, write_pack
from mimolo.evidence.pack_review import ReviewedInvoice
from mimolo.operations.host_key import host_public_key_path
from mimolo.protocol.review import InvoiceEntry
from mimolo.reports.issued import find_issued, prepare_issued, prepare_issued_by_number
from mimolo.reports.params import FORMATS
from mimolo.reports.prepare import (
    Prepared,
    ReportAsk,
    load_settings,
    prepare_report,
    review_inputs,
)
from mimolo.reports.runner import DEFAULT_TIMEOUT_S, run_report_sync
from mimolo.reports.templates import copy_templates, list_templates
from mimolo.reports.window import report_window
from mimolo.timeline import Segment, TimelinePolicy
from mimolo.timeline.models import DEFAULT_COOLDOWN_S
from mimolo.timeline.review_io import read_invoices

_F = Callable[..., Any]

_DATA_DIR = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root."
)


def _common(kind: str) -> Callable[[_F], _F]:
    """Options every report kind takes."""

    def wrap(fn: _F) -> _F:
        options = [
            click.option(
                "--from", "start", metavar="DATE", help="First local day (or an ISO time)."
            ),
            click.option("--to", "end", metavar="DATE", help="Last local day, inclusive."),
            click.option("--client", "client_id", metavar="ID", help="Only this client's work."),
            click.option("--project", metavar="NAME", help="Only this project's work."),
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
    prepared: Prepared


def _ask(kind: str, root: DataRoot, opts: dict[str, Any], extra: dict[str, Any]) -> ReportAsk:
    """The report asked for: its range in local days of the configured zone."""
    zone = load_settings(root).zone
    today = datetime.now(UTC).astimezone(zone).date()
    begin, stop = report_window(opts["start"], opts["end"], zone, today=today)
    return ReportAsk(
        kind=kind,
        start=begin,
        end=stop,
        client_id=opts["client_id"],
        project=opts["project"],
        rate=extra.get("rate"),
        currency=extra.get("currency"),
        bill_to=extra.get("bill_to"),
        seller=extra.get("issuer"),
        cooldown_s=opts["cooldown"],
    )


def _run(kind: str, root: DataRoot, prepared: Prepared, opts: dict[str, Any]) -> _Generated:
    """Run the reporter over a prepared report, with a progress bar."""
    console = Console()
    print_warnings(Console(stderr=True), prepared.warnings)
    params: dict[str, Any] = {
        **prepared.params,
        "format": opts["fmt"],
        "title": opts["title"],
        **{k: v for k, v in opts.get("reporter_extra", {}).items() if v is not None},
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
            root,
            kind,
            params,
            prepared.segments,
            on_progress,
            timeout_s=opts["timeout"],
            review=prepared.review,
        )
    figures = prepared.review.figures
    billable = f"{figures.hours} h billable" if figures is not None else ""
    console.print(
        f"Wrote {result.path} ({result.mime}, {result.bytes} bytes, sha256 {result.sha256[:12]}…): "
        f"{len(prepared.segments)} segments, {billable} (time zone {prepared.review.timezone})"
    )
    return _Generated(
        root,
        Path(result.path),
        list(prepared.segments),
        prepared.policy,
        prepared.window,
        prepared.params.get("client_id"),
        prepared,
    )


def _generate(
    kind: str, opts: dict[str, Any], extra: dict[str, Any], reporter_extra: dict[str, Any]
) -> _Generated:
    """A timecard, CSV or draft invoice: prepared here, nothing recorded."""
    root = DataRoot.resolve(opts["data_dir"])
    try:
        prepared = prepare_report(root, _ask(kind, root, opts, extra))
        return _run(kind, root, prepared, {**opts, "reporter_extra": reporter_extra})
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc


def _issue(opts: dict[str, Any], extra: dict[str, Any]) -> _Generated:
    """Check the draft, have Operations issue it (the number, the lock, an audit record),
    then print the entry's locked figures."""
    if opts["client_id"] is None:
        raise click.BadParameter("an issued invoice is for one client", param_hint="--client")
    root = DataRoot.resolve(opts["data_dir"])
    try:
        ask = _ask("invoice", root, opts, extra)
        draft = prepare_report(root, ask)  # the same checks as a draft, before anything is sent
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc
    answer = call(
        opts["data_dir"],
        "issue_invoice",
        client_id=ask.client_id,
        project=ask.project,
        start=ask.start.isoformat(),
        end=ask.end.isoformat(),
        rate=draft.params.get("rate"),
        currency=draft.params["currency"],
        via="cli",
    )
    entry = msgspec.convert(answer["invoice"], InvoiceEntry)
    Console().print(f"Issued invoice {entry.number} (id {entry.id}); its period is now locked")
    try:
        prepared = prepare_issued(root, entry, bill_to=ask.bill_to, seller=ask.seller)
        return _run("invoice", root, prepared, opts)
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc


def _reissue(number: str, opts: dict[str, Any], extra: dict[str, Any]) -> _Generated:
    """An issued invoice again, from its locked journal entry (read without Operations)."""
    root = DataRoot.resolve(opts["data_dir"])
    try:
        prepared = prepare_issued_by_number(
            root, number, bill_to=extra.get("bill_to"), seller=extra.get("issuer")
        )
        return _run("invoice", root, prepared, opts)
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc


def _pack_review(done: _Generated) -> ReviewedInvoice | None:
    """The review the invoice was made over (None: a plain invoice): its client, project
    and terms, and its journal entry when it is an issued one."""
    prepared = done.prepared
    figures = prepared.review.figures
    if figures is None or done.client_id is None:
        return None
    issued = prepared.review.issued
    entry = find_issued(read_invoices(done.root), issued.invoice_id) if issued else None
    return ReviewedInvoice(
        inputs=review_inputs(done.root, load_settings(done.root)),
        client_id=done.client_id,
        project=prepared.params.get("project"),
        rate=Decimal(figures.rate),
        currency=figures.currency,
        entry=entry,
    )


def _write_pack(done: _Generated, out: Path | None, with_artifacts: bool) -> None:
    """The evidence pack of the invoice just generated (refused with the reason if the
    evidence behind it does not verify)."""
    target = out or default_pack_path(done.path)
    try:
        review = _pack_review(done)
        source = PackSource(
            root=done.root,
            public_key_pem=host_public_key_path(done.root).read_bytes(),
            segments=done.segments,
            policy=done.policy,
            window=done.window,
            client_id=done.client_id,
            pdf=done.path.read_bytes(),
            with_artifacts=with_artifacts,
            review=review,
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
    """A timecard: segments per local day, totals and how the billable time was derived."""
    _generate("timecard", opts, {}, {})


@report.command("invoice")
@_common("invoice")
@click.option("--rate", help="Hourly rate, e.g. 85 or 92.50 [default: from review settings].")
@click.option("--currency", help="Three-letter code [default: the client's, else review.currency].")
@click.option("--issue", is_flag=True, help="Issue it through Operations: a number, a lock.")
@click.option(
    "--number",
    "issued_number",
    metavar="NUMBER",
    help="Reprint this issued invoice (its range and client come from the entry).",
)
@click.option("--invoice-number", help="A draft's reference (default: last day and client).")
@click.option("--bill-to", help="The buyer block [default: review.clients.<client>.bill_to].")
@click.option("--issuer", help="The seller block [default: review.seller].")
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
    rate: str | None,
    currency: str | None,
    issue: bool,
    issued_number: str | None,
    invoice_number: str | None,
    bill_to: str | None,
    issuer: str | None,
    evidence_pack: str | None,
    with_artifacts: bool,
    **opts: Any,
) -> None:
    """An invoice: billable hours per local day times the hourly rate (PDF or HTML).

    A DRAFT unless --issue (then Operations numbers it and locks its period); --number
    prints an issued invoice again with its locked figures.
    """
    if evidence_pack is not None and opts["fmt"] != "pdf":
        raise click.BadParameter("an evidence pack needs the PDF invoice", param_hint="--format")
    if with_artifacts and evidence_pack is None:
        raise click.BadParameter("needs --evidence-pack", param_hint="--with-artifacts")
    if evidence_pack is not None and issued_number is None and opts["client_id"] is None:
        raise click.BadParameter(
            "an evidence pack is of one client's invoice", param_hint="--client"
        )
    if issue and issued_number is not None:
        raise click.BadParameter("--issue makes a new invoice; --number reprints one")
    if invoice_number is not None and (issue or issued_number is not None):
        raise click.BadParameter(
            "Operations numbers issued invoices", param_hint="--invoice-number"
        )
    extra = {
        "rate": rate,
        "currency": currency.upper() if currency else None,
        "bill_to": bill_to,
        "issuer": issuer,
    }
    if issued_number is not None:
        done = _reissue(issued_number, opts, extra)
    elif issue:
        done = _issue(opts, extra)
    else:
        done = _generate("invoice", opts, extra, {"invoice_number": invoice_number})
    if evidence_pack is not None:
        _write_pack(done, None if evidence_pack == "-" else Path(evidence_pack), with_artifacts)


@report.command("csv")
@_common("csv")
def csv_report(**opts: Any) -> None:
    """CSV rows: date, start, end, duration_h, client, instances, project, tags, source,
    adjustments."""
    _generate("csv", opts, {}, {})


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
