"""Running one report for the reports view: derive segments, hand them to a reporter.

Control prepares the segments (it owns timeline derivation) and the reporters
(``mimolo.reports``) turn them into a document under ``control/reports/``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from mimolo.control.evidence_source import ALL, EvidenceSource, LocalSource, ViewFilters
from mimolo.control.report_jobs import Progress
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.reports import run_report
from mimolo.reports.issued import prepare_issued_by_number
from mimolo.reports.prepare import Prepared, ReportAsk, load_settings, prepare_report
from mimolo.reports.window import day_window
from mimolo.timeline.models import Segment

log = logging.getLogger(__name__)


class ReportKind(msgspec.Struct, frozen=True, kw_only=True):
    """A choice in the form: which reporter, which output format."""

    label: str
    reporter: str
    format: str
    extension: str
    needs_client: bool = False


REPORT_KINDS: dict[str, ReportKind] = {
    "timecard-md": ReportKind(
        label="Timecard (Markdown)", reporter="timecard", format="md", extension="md"
    ),
    "timecard-html": ReportKind(
        label="Timecard (HTML)", reporter="timecard", format="html", extension="html"
    ),
    "timecard-pdf": ReportKind(
        label="Timecard (PDF)", reporter="timecard", format="pdf", extension="pdf"
    ),
    "invoice-pdf": ReportKind(
        label="Invoice (PDF)", reporter="invoice", format="pdf", extension="pdf", needs_client=True
    ),
    "csv": ReportKind(label="CSV of segments", reporter="csv", format="csv", extension="csv"),
}


class ReportRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A validated report form."""

    kind: str
    start: date
    end: date
    client_id: str | None
    rate: str
    currency: str
    project: str | None = None


class ReportFile(msgspec.Struct, frozen=True, kw_only=True):
    """A finished report in ``control/reports``."""

    name: str
    bytes: int
    modified: datetime


def list_reports(root: DataRoot, limit: int = 20) -> list[ReportFile]:
    """The newest reports first."""
    try:
        entries = [p for p in root.reports_dir.iterdir() if p.is_file() and not p.is_symlink()]
    except OSError:
        return []
    files = []
    for path in entries:
        if path.name.startswith("."):
            continue
        stat = path.stat()
        files.append(
            ReportFile(
                name=path.name,
                bytes=stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            )
        )
    return sorted(files, key=lambda f: f.modified, reverse=True)[:limit]


def report_segments(
    root: DataRoot,
    request: ReportRequest,
    source: EvidenceSource | None = None,
    filters: ViewFilters = ALL,
) -> list[Segment]:
    """The derived segments of the request's days (whole UTC days), of its client if set
    (from this machine's ledger, or the team store's hosts the ``filters`` select)."""
    start, end = request_window(request)
    source = source or LocalSource(root)
    loaded = source.load_timeline(start, end, client_id=request.client_id, filters=filters)
    return loaded.timeline.segments


def request_window(request: ReportRequest) -> tuple[datetime, datetime]:
    """``[start day 00:00, day after end 00:00)`` in UTC."""
    start = datetime.combine(request.start, datetime.min.time(), UTC)
    end = datetime.combine(request.end + timedelta(days=1), datetime.min.time(), UTC)
    return start, end


def reporter_params(request: ReportRequest) -> dict[str, Any]:
    """The ``params`` of the reporter's ``generate`` request."""
    kind = REPORT_KINDS[request.kind]
    start, end = request_window(request)
    params: dict[str, Any] = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "format": kind.format,
        "currency": request.currency,
    }
    if request.client_id:
        params["client_id"] = request.client_id
    if request.rate and float(request.rate) > 0:
        params["rate"] = request.rate
    return params


async def run_report_job(
    root: DataRoot,
    request: ReportRequest,
    progress: Progress,
    source: EvidenceSource | None = None,
    filters: ViewFilters = ALL,
) -> Path:
    """Derive the segments (in a worker thread), run the reporter, return the file."""
    kind = REPORT_KINDS[request.kind]
    progress(0.05, "deriving the timeline")
    if source is None or not source.team:  # this machine: the reviewed timeline
        prepared = await asyncio.to_thread(prepare_local, root, request)
        return await _run_prepared(root, kind.reporter, kind.format, prepared, progress)
    segments = await asyncio.to_thread(report_segments, root, request, source, filters)
    progress(0.25, f"{len(segments)} segment(s); running the {kind.reporter} reporter")
    ensure_private_dir(root.reports_dir)

    def on_progress(percent: float, message: str) -> None:
        progress(0.25 + 0.7 * max(0.0, min(100.0, percent)) / 100, message)

    result = await run_report(root, kind.reporter, reporter_params(request), segments, on_progress)
    return Path(result.path)


def prepare_local(root: DataRoot, request: ReportRequest) -> Prepared:
    """The request over the reviewed timeline: its days are local days of the configured
    zone; a rate above 0 wins over the review settings' rates."""
    kind = REPORT_KINDS[request.kind]
    first, last = day_window(request.start, request.end, load_settings(root).zone)
    rate = request.rate if request.rate and Decimal(request.rate) > 0 else None
    ask = ReportAsk(
        kind=kind.reporter,
        start=first,
        end=last,
        client_id=request.client_id,
        project=request.project,
        rate=rate,
        currency=request.currency or None,
    )
    return prepare_report(root, ask)


async def _run_prepared(
    root: DataRoot, reporter: str, fmt: str, prepared: Prepared, progress: Progress
) -> Path:
    progress(0.25, f"{len(prepared.segments)} segment(s); running the {reporter} reporter")
    ensure_private_dir(root.reports_dir)

    def on_progress(percent: float, message: str) -> None:
        progress(0.25 + 0.7 * max(0.0, min(100.0, percent)) / 100, message)

    params = {**prepared.params, "format": fmt}
    result = await run_report(
        root, reporter, params, prepared.segments, on_progress, review=prepared.review
    )
    return Path(result.path)


async def run_issued_report_job(root: DataRoot, number: str, progress: Progress) -> Path:
    """The PDF of an issued invoice (by number or id) with its locked figures: what the
    Reports form runs after ``issue_invoice`` answered, and for a reprint."""
    progress(0.05, f"reading invoice {number}")
    prepared = await asyncio.to_thread(prepare_issued_by_number, root, number)
    return await _run_prepared(root, "invoice", "pdf", prepared, progress)


__all__ = [
    "REPORT_KINDS",
    "ReportFile",
    "ReportKind",
    "ReportRequest",
    "list_reports",
    "prepare_local",
    "report_segments",
    "reporter_params",
    "request_window",
    "run_issued_report_job",
    "run_report_job",
]
