"""The invoice reporter: the billed hours of one client over local days, as PDF (or HTML).

Run as ``python -m mimolo.reports.invoice``. The figures come prepared (``review.figures``:
the reviewed timeline's, or an issued invoice's locked ones); without them, plain evidence
is billed per UTC day (hours to 0.01 h, amounts to 0.01). The lines always sum to the
totals printed, and the derivation section shows how the billable time was reached.

A draft says DRAFT on every page and carries no number of its own; an issued invoice
prints the number Operations allocated. The PDF embeds the figures as
``mimolo-invoice.json`` so an evidence pack's verifier can compare them with the ledger.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec

from mimolo.protocol.review import BillingFigures
from mimolo.reports.derivation import CENT, InvoiceLine, invoice_lines
from mimolo.reports.documents import (
    base_context,
    html_to_pdf,
    review_of,
    user_templates,
    zone_of,
)
from mimolo.reports.params import ReportParams, check_currency, parse_rate
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.reporter import Progress, run
from mimolo.reports.templates import render

TOTALS_ATTACHMENT = "mimolo-invoice.json"
TOTALS_VERSION = 1


def totals_document(
    params: ReportParams, context: dict[str, Any], lines: list[InvoiceLine]
) -> bytes:
    """The invoice's figures as JSON (embedded in the PDF; read by evidence-pack verifiers).

    ``hours``/``amount`` are the billed totals and equal the lines' sums; ``derivation``
    is the full ``BillingFigures`` they come from.
    """
    figures: BillingFigures = context["figures"]
    issued = context["issued"]
    doc = {
        "mimolo_invoice": TOTALS_VERSION,
        "number": context["invoice_number"],
        "status": context["status"],
        "client": params.client_id,
        "project": params.project,
        "from": params.start.isoformat(),
        "to": params.end.isoformat(),
        "timezone": context["timezone"],
        "rate": str(context["rate_exact"]),
        "currency": context["currency"],
        "hours": str(context["total_hours"]),
        "amount": str(context["total"]),
        "lines": [
            {"day": line.day.isoformat(), "hours": str(line.hours), "amount": str(line.amount)}
            for line in lines
        ],
        "derivation": msgspec.to_builtins(figures),
        "inputs_hash": issued.inputs_hash if issued is not None else "",
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def draft_reference(params: ReportParams) -> str:
    """A draft's reference: its last local day and client (never a sequence number)."""
    last = (params.end - timedelta(microseconds=1)).astimezone(zone_of(params.timezone or "UTC"))
    return f"{max(last, params.start):%Y%m%d}-{params.client_id or 'all'}".upper()


def _rate_and_currency(request: GenerateRequest, params: ReportParams) -> tuple[Decimal, str]:
    """Prepared figures name their rate; otherwise the parameters must."""
    review = review_of(request, params)
    if review.figures is not None:
        return parse_rate(review.figures.rate), check_currency(review.figures.currency)
    return parse_rate(params.rate), check_currency(params.currency)


def invoice_context(request: GenerateRequest, params: ReportParams) -> dict[str, Any]:
    """The template context: the shared one plus lines, number, parties and totals."""
    rate, currency = _rate_and_currency(request, params)
    context = base_context(request, params, "Invoice", rate=rate, currency=currency)
    lines = invoice_lines(context["figures"], rate)
    issued = context["issued"]
    draft = context["status"] != "issued" or issued is None
    number = issued.number if not draft else (params.invoice_number or draft_reference(params))
    context.update(
        lines=lines,
        rate=rate.quantize(CENT) if rate == rate.quantize(CENT) else rate,
        rate_exact=rate,
        currency=currency,
        draft=draft,
        invoice_number=number,
        total=sum((line.amount for line in lines), Decimal("0.00")),
        total_hours=sum((line.hours for line in lines), Decimal("0.00")),
        bill_to=params.bill_to,
        issuer=params.issuer,
    )
    return context


def build(request: GenerateRequest, params: ReportParams, progress: Progress) -> bytes:
    """The invoice document (a draft unless the request carries an issued invoice)."""
    context = invoice_context(request, params)
    progress(30, f"{len(context['lines'])} invoice lines")
    html = render(user_templates(params), "invoice.html.j2", context)
    if params.format == "html":
        return html.encode()
    progress(50, "rendering PDF")
    totals = totals_document(params, context, context["lines"])
    issued = context["issued"]
    dated = issued.issued_at if issued is not None else context["generated_at"]
    return html_to_pdf(html, attachments={TOTALS_ATTACHMENT: totals}, dated=dated)


if __name__ == "__main__":
    run(build)
