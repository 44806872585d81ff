"""Evidence packs from the Reports view: the pack of an invoice PDF already generated.

The PDF carries its own figures (client, period, zone, rate, totals, derivation; an issued
one its number); the pack re-derives that period's reviewed timeline (an issued invoice's
as it was issued, from its journal entry), checks it still gives the PDF's figures, and
writes ``<invoice>.evidence.zip`` beside it. A PDF without a derivation (a plain invoice,
made without the review layer) is packed per UTC day as before. Which reports offer a pack
is decided by ``pack_eligible`` alone: every generated invoice, draft or issued.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mimolo.control.report_jobs import Progress
from mimolo.control.timeline_source import load_timeline
from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError, EvidencePackError
from mimolo.evidence.pack import (
    PackSource,
    build_pack,
    default_pack_path,
    invoice_totals,
    write_pack,
)
from mimolo.evidence.pack_figures import parse_time
from mimolo.evidence.pack_review import ReviewedInvoice
from mimolo.operations.host_key import host_public_key_path
from mimolo.reports.issued import find_issued
from mimolo.reports.prepare import load_settings, review_inputs
from mimolo.timeline.models import TimelinePolicy
from mimolo.timeline.review_io import read_invoices


def pack_eligible(name: str) -> bool:
    """Whether the Reports view offers an evidence pack for the report file ``name``."""
    return name.startswith("invoice-") and name.endswith(".pdf")


def reviewed_invoice(
    root: DataRoot, totals: dict[str, Any]
) -> tuple[ReviewedInvoice, TimelinePolicy]:
    """The review an invoice PDF was made over, from its embedded figures: its client,
    project and terms, and its journal entry when it was issued."""
    client = totals.get("client")
    if not isinstance(client, str):
        raise EvidencePackError(
            "an evidence pack is of one client's invoice; this one bills every client"
        )
    derivation = totals.get("derivation") or {}
    try:
        rate = Decimal(str(derivation.get("rate", totals.get("rate"))))
    except InvalidOperation:
        raise ConfigError("the invoice names no usable rate", field="name") from None
    entry = None
    if totals.get("status") == "issued":
        entry = find_issued(read_invoices(root), str(totals.get("number")))
    loaded = load_settings(root)
    project = totals.get("project")
    review = ReviewedInvoice(
        inputs=review_inputs(root, loaded),
        client_id=client,
        project=project if isinstance(project, str) else None,
        rate=rate,
        currency=str(derivation.get("currency", totals.get("currency"))),
        entry=entry,
    )
    return review, loaded.policy


def _build(root: DataRoot, invoice: Path) -> Path:
    pdf = invoice.read_bytes()
    totals = invoice_totals(pdf)
    try:
        start, end = parse_time(totals.get("from")), parse_time(totals.get("to"))
    except ValueError:
        raise ConfigError("the invoice names no usable period", field="name") from None
    client = totals.get("client")
    client_id = client if isinstance(client, str) else None
    try:
        key = host_public_key_path(root).read_bytes()
    except FileNotFoundError:
        raise ConfigError("Operations has no host key yet", field="name") from None
    if isinstance(totals.get("derivation"), dict):
        review, policy = reviewed_invoice(root, totals)
        source = PackSource(
            root=root, public_key_pem=key, segments=[], policy=policy, window=(start, end),
            client_id=client_id, pdf=pdf, review=review,
        )  # fmt: skip
    else:
        loaded = load_timeline(root, start, end, client_id=client_id)
        source = PackSource(
            root=root, public_key_pem=key, segments=loaded.timeline.segments,
            policy=loaded.policy, window=(start, end), client_id=client_id, pdf=pdf,
        )  # fmt: skip
    target = default_pack_path(invoice)
    write_pack(target, build_pack(source))
    return target


async def run_pack_job(root: DataRoot, invoice: Path, progress: Progress) -> Path:
    """Build the pack in a worker thread (it reads and verifies ledger days)."""
    progress(0.1, f"collecting the evidence of {invoice.name}")
    target = await asyncio.to_thread(_build, root, invoice)
    progress(0.95, "verified")
    return target


__all__ = ["pack_eligible", "reviewed_invoice", "run_pack_job"]
