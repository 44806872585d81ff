"""Issued invoices as documents: the locked figures of the journal entry, reproduced as is.

An issued invoice's hours, amount, lines and derivation come from its ``InvoiceEntry``
(``operations/review/invoices.jsonl``), never from today's rules or adjustments, and its
date is the entry's: regenerating it later gives the same figures, byte for byte.
"""

from __future__ import annotations

from mimolo.dataroot import DataRoot
from mimolo.errors import InvoiceUnknown
from mimolo.protocol.review import InvoiceEntry
from mimolo.reports.billing_settings import resolve_billing
from mimolo.reports.model import IssuedNote, LockNote, ReportReview
from mimolo.reports.prepare import (
    Loaded,
    Prepared,
    ReportAsk,
    base_params,
    load_settings,
    lock_notes,
    report_segments,
    reviewed,
)
from mimolo.timeline.review_io import read_invoices


def find_issued(entries: list[InvoiceEntry], key: str) -> InvoiceEntry:
    """The issued entry whose number or id is ``key``; ``invoice_unknown`` if none, and
    a voided one is refused too (it bills nothing any more)."""
    voided = {e.voids: e for e in entries if e.kind == "voided" and e.voids}
    for entry in entries:
        if entry.kind == "issued" and key in (entry.number, entry.id):
            if entry.id in voided:
                raise InvoiceUnknown(
                    f"invoice {entry.number} was voided ({voided[entry.id].reason or 'no reason'})",
                    field="number",
                )
            return entry
    raise InvoiceUnknown(f"no issued invoice {key!r} in the journal", field="number")


def issued_review(entry: InvoiceEntry, locked: list[LockNote] | None = None) -> ReportReview:
    """The review of an issued invoice: its zone, locked figures and number."""
    return ReportReview(
        timezone=entry.timezone,
        figures=entry.figures,
        locked=locked or [],
        status="issued",
        issued=IssuedNote(
            invoice_id=entry.id,
            number=entry.number,
            issued_at=entry.created_at,
            inputs_hash=entry.inputs_hash,
        ),
    )


def prepare_issued(
    root: DataRoot,
    entry: InvoiceEntry,
    *,
    loaded: Loaded | None = None,
    bill_to: str | None = None,
    seller: str | None = None,
) -> Prepared:
    """The invoice document of ``entry``: figures from the entry, segments (for an
    evidence pack) from the reviewed timeline of its range."""
    if entry.start is None or entry.end is None or entry.figures is None:
        raise InvoiceUnknown(f"invoice {entry.number} records no range or figures", field="number")
    loaded = loaded or load_settings(root)
    ask = ReportAsk(
        kind="invoice",
        start=entry.start,
        end=entry.end,
        client_id=entry.client_id,
        project=entry.project,
        rate=entry.figures.rate,
        currency=entry.figures.currency,
    )
    billing = resolve_billing(
        loaded.config.review,
        entry.client_id,
        entry.project,
        rate=entry.figures.rate,
        currency=entry.figures.currency,
        bill_to=bill_to or entry.bill_to or None,
        seller=seller if seller is not None else (entry.seller if entry.default else None),
    )
    timeline = reviewed(root, ask, loaded)
    params = base_params(ask, entry.timezone, billing)
    params["generated_at"] = entry.created_at.isoformat()
    return Prepared(
        params=params,
        segments=report_segments(timeline),
        review=issued_review(entry, lock_notes(timeline)),
        policy=loaded.policy,
        window=(entry.start, entry.end),
        warnings=list(loaded.warnings),
    )


def prepare_issued_by_number(
    root: DataRoot, key: str, *, bill_to: str | None = None, seller: str | None = None
) -> Prepared:
    """``prepare_issued`` of the issued invoice numbered (or with id) ``key``."""
    entry = find_issued(read_invoices(root), key)
    return prepare_issued(root, entry, bill_to=bill_to, seller=seller)


__all__ = ["find_issued", "issued_review", "prepare_issued", "prepare_issued_by_number"]
