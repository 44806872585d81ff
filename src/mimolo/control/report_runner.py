"""Running one report for the reports view: derive segments, hand them to a reporter.

Control prepares the segments (it owns timeline derivation) and the reporters
(``mimolo.reports``) turn them into a document under ``control/reports/``.
"""

from __future__ import annotations

import importlib
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from mimolo.control.report_jobs import Progress
from mimolo.control.timeline_source import load_timeline
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import ReportError

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


def _segments_payload(root: DataRoot, request: ReportRequest) -> list[dict[str, Any]]:
    start = datetime.combine(request.start, datetime.min.time(), UTC)
    end = datetime.combine(request.end + timedelta(days=1), datetime.min.time(), UTC)
    timeline = load_timeline(root, start, end).timeline
    out: list[dict[str, Any]] = []
    for segment in timeline.segments:
        if request.client_id and request.client_id not in segment.client_ids:
            continue
        out.append(msgspec.to_builtins(segment))
    return out


def run_report_job(root: DataRoot, request: ReportRequest, progress: Progress) -> Path:
    """Blocking: derive, run the reporter, return the written file."""
    kind = REPORT_KINDS[request.kind]
    progress(0.05, "deriving the timeline")
    segments = _segments_payload(root, request)
    progress(0.3, f"{len(segments)} segment(s); running the {kind.reporter} reporter")
    ensure_private_dir(root.reports_dir)
    try:
        reports: Any = importlib.import_module("mimolo.reports")
    except ImportError as exc:
        raise ReportError(f"reporters are not installed: {exc}") from exc
    runner = getattr(reports, "run_report", None)
    if runner is None:
        raise ReportError("this build has no reporters yet")
    result = runner(
        root,
        reporter=kind.reporter,
        format=kind.format,
        params={
            "start": request.start.isoformat(),
            "end": request.end.isoformat(),
            "client_id": request.client_id,
            "rate": request.rate,
            "currency": request.currency,
        },
        segments=segments,
    )
    path = Path(result)
    progress(0.95, "finishing")
    return path


__all__ = [
    "REPORT_KINDS",
    "ReportFile",
    "ReportKind",
    "ReportRequest",
    "list_reports",
    "run_report_job",
]
