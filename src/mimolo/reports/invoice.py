"""The invoice reporter: per-day hours times the hourly rate for one client, as PDF (or HTML).

Run as ``python -m mimolo.reports.invoice``. Hours are rounded per UTC day to 0.01 h and
amounts to 0.01, so the lines always add up to the total printed. The PDF embeds the same
figures as ``mimolo-invoice.json`` so an evidence pack's verifier can compare them with the
totals it recomputes from the ledger records.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from mimolo.reports.documents import base_context, html_to_pdf, user_templates
from mimolo.reports.params import ReportParams, check_currency, parse_rate
from mimolo.reports.protocol import GenerateRequest
from mimolo.reports.reporter import Progress, run
from mimolo.reports.rows import Day
from mimolo.reports.templates import render

CENT = Decimal("0.01")
TOTALS_ATTACHMENT = "mimolo-invoice.json"
TOTALS_VERSION = 1


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    hours: Decimal
    amount: Decimal


def hours_of(seconds: float) -> Decimal:
    return (Decimal(repr(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_lines(days: list[Day], rate: Decimal) -> list[InvoiceLine]:
    """One line per UTC day with work."""
    lines = []
    for d in days:
        hours = hours_of(d.total_s)
        amount = (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        lines.append(InvoiceLine(day=d.day, hours=hours, amount=amount))
    return lines


def totals_document(
    params: ReportParams, number: str, rate: Decimal, currency: str, lines: list[InvoiceLine]
) -> bytes:
    """The invoice's figures as JSON (embedded in the PDF; read by evidence-pack verifiers)."""
    doc = {
        "mimolo_invoice": TOTALS_VERSION,
        "number": number,
        "client": params.client_id,
        "from": params.start.isoformat(),
        "to": params.end.isoformat(),
        "rate": str(rate),
        "currency": currency,
        "hours": str(sum((line.hours for line in lines), Decimal("0.00"))),
        "amount": str(sum((line.amount for line in lines), Decimal("0.00"))),
        "lines": [
            {"day": line.day.isoformat(), "hours": str(line.hours), "amount": str(line.amount)}
            for line in lines
        ],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def build(request: GenerateRequest, params: ReportParams, progress: Progress) -> bytes:
    """The invoice document; needs a positive rate."""
    rate = parse_rate(params.rate)
    currency = check_currency(params.currency)
    context = base_context(params, request.segments, "Invoice")
    lines = invoice_lines(context["days"], rate)
    number = params.invoice_number or (
        f"{context['period_end']:%Y%m%d}-{params.client_id or 'all'}".upper()
    )
    context.update(
        lines=lines,
        rate=rate.quantize(CENT),
        currency=currency,
        invoice_number=number,
        total=sum((line.amount for line in lines), Decimal("0.00")),
        total_hours=sum((line.hours for line in lines), Decimal("0.00")),
        bill_to=params.bill_to,
        issuer=params.issuer,
    )
    progress(30, f"{len(lines)} invoice lines")
    html = render(user_templates(params), "invoice.html.j2", context)
    if params.format == "html":
        return html.encode()
    progress(50, "rendering PDF")
    totals = totals_document(params, number, rate, currency, lines)
    return html_to_pdf(html, attachments={TOTALS_ATTACHMENT: totals})


if __name__ == "__main__":
    run(build)
