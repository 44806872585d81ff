"""Shared document context for the built-in reporters, and HTML → PDF via WeasyPrint."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from mimolo import __version__
from mimolo.errors import ReportError
from mimolo.protocol.review import BillingFigures
from mimolo.reports.derivation import check_figures, derivation_rows, plain_figures
from mimolo.reports.model import ReportReview
from mimolo.reports.params import ReportParams
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.rows import rows_by_day


def zone_of(name: str) -> tzinfo:
    """The report's zone by IANA name (the preparing side already checked it)."""
    if name in ("", "UTC"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ReportError(f"unknown time zone {name!r}", code="report_failed") from None


def review_of(request: GenerateRequest, params: ReportParams) -> ReportReview:
    """The request's review, or plain evidence in UTC (a request from an older caller)."""
    return request.review or ReportReview(timezone=params.timezone or "UTC")


def figures_of(
    review: ReportReview, days: list[Any], rate: Decimal, currency: str
) -> BillingFigures:
    """The figures to print: the prepared (or locked) ones, else plain evidence's."""
    if review.figures is not None:
        check_figures(review.figures)
        return review.figures
    return plain_figures([(d.day, d.total_s) for d in days], rate, currency)


def _period(params: ReportParams, zone: tzinfo) -> tuple[date, date]:
    first = params.start.astimezone(zone).date()
    last = (params.end - timedelta(microseconds=1)).astimezone(zone).date()
    return first, max(first, last)


def base_context(
    request: GenerateRequest,
    params: ReportParams,
    default_title: str,
    *,
    rate: Decimal = Decimal(0),
    currency: str = "EUR",
) -> dict[str, Any]:
    """What every template gets: zone, period (local days), rows by day, the derivation."""
    review = review_of(request, params)
    zone = zone_of(review.timezone)
    days = rows_by_day(request.segments, zone)
    figures = figures_of(review, days, rate, currency)
    first, last = _period(params, zone)
    return {
        "title": params.title or default_title,
        "client": params.client_id or "all clients",
        "client_id": params.client_id,
        "project": params.project,
        "timezone": review.timezone or "UTC",
        "period_start": first,
        "period_end": last,
        "days": days,
        "total_s": sum(d.total_s for d in days),
        "segment_count": len(request.segments),
        "figures": figures,
        "derivation": derivation_rows(figures),
        "per_client": dict(sorted(review.per_client.items())),
        "per_project": dict(sorted(review.per_project.items())),
        "locked": review.locked,
        "status": review.status,
        "issued": review.issued,
        "generated_at": (params.generated_at or datetime.now(UTC)).astimezone(zone),
        "app_version": __version__,
    }


def html_to_pdf(
    html: str,
    base_dir: Path | None = None,
    attachments: dict[str, bytes] | None = None,
    *,
    dated: datetime | None = None,
) -> bytes:
    """Render self-contained HTML to PDF bytes (no network fetches).

    ``attachments`` are embedded files (name -> bytes): how an invoice carries its
    machine-readable totals for evidence-pack verifiers. They are dated ``dated`` (else
    now), so the same document at the same date is the same bytes.
    """
    import weasyprint

    def no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
        raise ValueError(f"external resource refused: {url}")

    document = weasyprint.HTML(
        string=html, base_url=str(base_dir) if base_dir else None, url_fetcher=no_fetch
    )
    embedded = [
        weasyprint.Attachment(string=data, name=name, base_url=None, created=dated, modified=dated)
        for name, data in (attachments or {}).items()
    ]
    pdf: bytes = document.write_pdf(attachments=embedded)
    return pdf


def user_templates(params: ReportParams) -> Path | None:
    return Path(params.templates_dir) if params.templates_dir else None


__all__ = ["base_context", "figures_of", "html_to_pdf", "review_of", "user_templates", "zone_of"]
