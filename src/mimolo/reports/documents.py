"""Shared document context for the built-in reporters, and HTML → PDF via WeasyPrint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mimolo import __version__
from mimolo.reports.params import ReportParams
from mimolo.reports.rows import rows_by_day
from mimolo.timeline.models import Segment


def base_context(
    params: ReportParams, segments: list[Segment], default_title: str
) -> dict[str, Any]:
    """What every template gets: period, client, rows by day, totals."""
    days = rows_by_day(segments)
    last_day = (params.end - timedelta(microseconds=1)).date()
    return {
        "title": params.title or default_title,
        "client": params.client_id or "all clients",
        "client_id": params.client_id,
        "period_start": params.start.date(),
        "period_end": max(last_day, params.start.date()),
        "days": days,
        "total_s": sum(d.total_s for d in days),
        "segment_count": len(segments),
        "generated_at": params.generated_at or datetime.now(UTC),
        "app_version": __version__,
    }


def html_to_pdf(
    html: str, base_dir: Path | None = None, attachments: dict[str, bytes] | None = None
) -> bytes:
    """Render self-contained HTML to PDF bytes (no network fetches).

    ``attachments`` are embedded files (name -> bytes): how an invoice carries its
    machine-readable totals for evidence-pack verifiers.
    """
    import weasyprint

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
        raise ValueError(f"external resource refused: {url}")

    document = weasyprint.HTML(
        string=html, base_url=str(base_dir) if base_dir else None, url_fetcher=no_fetch
    )
    embedded = [
        weasyprint.Attachment(string=data, name=name, base_url=None)
        for name, data in (attachments or {}).items()
    ]
    pdf: bytes = document.write_pdf(attachments=embedded)
    return pdf


def user_templates(params: ReportParams) -> Path | None:
    return Path(params.templates_dir) if params.templates_dir else None


__all__ = ["base_context", "html_to_pdf", "user_templates"]
