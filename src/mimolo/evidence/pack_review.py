"""The review side of an evidence pack: the reviewed segments of an invoice and what made them.

An invoice made over the reviewed timeline (DESIGN §6: evidence → rules → adjustments →
locks, in the invoice's zone) is packed with its reviewed segments, the derived evidence
segments they were cut from (each with its ledger records), the journal lines of every
adjustment that applied (verbatim, with the revokes that undid others in range), the
invoice entries involved (the issued entry itself, and issued periods the range meets),
the rules that placed the time, and the billing figures. An issued invoice is packed as
it was issued: adjustments up to its issue, earlier invoices, its own zone and terms, and
the figures must come out as the entry locked them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import EvidencePackError
from mimolo.evidence.pack_records import DayLines
from mimolo.protocol.review import Adjustment, BillingFigures, InvoiceEntry, Rule
from mimolo.timeline.adjust import effective
from mimolo.timeline.billing import billing_figures, inputs_hash
from mimolo.timeline.models import TimelinePolicy
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.review_io import adjustments_path, invoices_path
from mimolo.timeline.reviewed import ReviewedSegment, ReviewedTimeline
from mimolo.timeline.zones import resolve_zone


@dataclass(frozen=True)
class ReviewedInvoice:
    """What a review-aware pack is made from: the review inputs (zone, settings, both
    journals), the invoice's terms, and its entry when it was issued (None: a draft)."""

    inputs: ReviewInputs
    client_id: str
    project: str | None
    rate: Decimal
    currency: str
    entry: InvoiceEntry | None = None


@dataclass
class ReviewPart:
    """The review as the pack shows it."""

    timeline: ReviewedTimeline
    base: ReviewedTimeline
    figures: BillingFigures
    inputs_hash: str
    inputs: ReviewInputs
    window: tuple[datetime, datetime]
    segment_docs: list[dict[str, Any]] = field(default_factory=list)
    removed_docs: list[dict[str, Any]] = field(default_factory=list)
    derived_docs: list[dict[str, Any]] = field(default_factory=list)
    included: set[int] = field(default_factory=set)


def as_issued(inputs: ReviewInputs, entry: InvoiceEntry) -> ReviewInputs:
    """The review as it stood when ``entry`` was issued: its zone, its rules (kept in the
    entry; today's for an entry from before they were kept), the adjustments made until
    then, the invoices before it (its own lock left out, so its figures are derived
    afresh and compared with what it locked)."""
    settings = inputs.settings
    if entry.default is not None:  # the rules it was billed under, not today's
        settings = msgspec.structs.replace(settings, rules=entry.rules, default=entry.default)
    return ReviewInputs(
        tz=resolve_zone(entry.timezone),
        settings=settings,
        adjustments=[a for a in inputs.adjustments if a.created_at <= entry.created_at],
        invoices=[e for e in inputs.invoices if e.seq < entry.seq],
    )


def _terms(invoice: ReviewedInvoice) -> tuple[Decimal, str, str, int]:
    """Rate, currency and rounding: an issued invoice's own, else the settings'."""
    if invoice.entry is not None and invoice.entry.figures is not None:
        f = invoice.entry.figures
        return Decimal(f.rate), f.currency, f.rounding, f.rounding_minutes
    s = invoice.inputs.settings
    return invoice.rate, invoice.currency, s.rounding, s.rounding_minutes


def review_part(
    root: DataRoot,
    policy: TimelinePolicy,
    window: tuple[datetime, datetime],
    invoice: ReviewedInvoice,
) -> ReviewPart:
    """The reviewed timeline of the invoice (as issued, for an issued one), the derived
    evidence under it, and the figures they give."""
    entry = invoice.entry
    inputs = as_issued(invoice.inputs, entry) if entry is not None else invoice.inputs
    start, end = window
    timeline = reviewed_timeline(
        root, start, end, policy, inputs, client_id=invoice.client_id, project=invoice.project
    )
    base_inputs = ReviewInputs(tz=inputs.tz, settings=inputs.settings)
    base = reviewed_timeline(root, start, end, policy, base_inputs)
    rate, currency, rounding, minutes = _terms(invoice)
    terms: dict[str, Any] = {
        "client_id": invoice.client_id,
        "project": invoice.project,
        "start": start,
        "end": end,
        "rate": rate,
        "currency": currency,
        "rounding": rounding,
        "rounding_minutes": minutes,
    }
    figures = billing_figures(timeline, **terms)
    hashed = inputs_hash(timeline, inputs.settings, **terms)
    return ReviewPart(timeline, base, figures, hashed, inputs, window)


def check_figures(part: ReviewPart, invoice: ReviewedInvoice, claimed: dict[str, Any]) -> None:
    """The review must still give the invoice's figures: an issued entry's locked ones, a
    draft's as its PDF embeds them (``pack_totals_mismatch`` naming what differs)."""
    ours = msgspec.to_builtins(part.figures)
    entry = invoice.entry
    theirs = msgspec.to_builtins(entry.figures) if entry is not None else claimed
    differ = sorted(
        k for k in set(ours) | set(theirs or {}) if ours.get(k) != (theirs or {}).get(k)
    )
    if not differ:
        return
    shown = ", ".join(f"{k} {(theirs or {}).get(k)!r} vs {ours.get(k)!r}" for k in differ[:4])
    if entry is not None:
        raise EvidencePackError(
            f"invoice {entry.number} locked figures its evidence, rules and adjustments as of "
            f"its issue no longer give ({shown}): the rules or the evidence changed since",
            code="pack_totals_mismatch",
        )
    raise EvidencePackError(
        f"the reviewed timeline now gives other figures than the invoice ({shown}): "
        "regenerate the invoice",
        code="pack_totals_mismatch",
    )


def _activity(days: dict[Any, DayLines]) -> dict[int, bool]:
    return {ln.seq: ln.active for d in days.values() for ln in d.lines if ln.seq is not None}


def _origin_of(
    seg: ReviewedSegment, base: Sequence[ReviewedSegment], by_seq: dict[int, int]
) -> int:
    """The derived evidence segment ``seg`` was cut from (by its activity records)."""
    for seq in seg.summary_seqs:
        index = by_seq.get(seq)
        if index is not None:
            return index
    wanted = set(seg.summary_seqs)
    for index, b in enumerate(base):
        if b.start <= seg.start and seg.end <= b.end and wanted <= set(b.summary_seqs):
            return index
    raise EvidencePackError(
        f"the segment at {seg.start.isoformat()} cannot be traced to derived evidence",
        code="pack_totals_mismatch",
    )


def _segment_doc(seg: ReviewedSegment, origin: int | None, locked_by: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(seg)
    if locked_by is not None and doc.get("locked_by") is None:
        doc["locked_by"] = locked_by
    doc["origin"] = origin
    return doc


def _derived_doc(seg: ReviewedSegment, active: dict[int, bool]) -> dict[str, Any]:
    doc = {
        k: v
        for k, v in msgspec.to_builtins(seg).items()
        if k in ("start", "end", "duration_s", "instances", "client_ids", "summary_count",
                 "client_id", "project", "tags", "rule_ids")
    }  # fmt: skip
    doc["seqs"] = [s for s in seg.summary_seqs if active.get(s)]
    doc["attached_seqs"] = [s for s in seg.summary_seqs if not active.get(s)]
    return doc


def trace(part: ReviewPart, days: dict[Any, DayLines], own_lock: str | None) -> None:
    """Fill the segment documents: every evidence piece names the derived segment it was
    cut from; every derived segment its activity and attached records."""
    active = _activity(days)
    base = part.base.segments
    by_seq = {s: i for i, b in enumerate(base) for s in b.summary_seqs if active.get(s)}
    used: dict[int, int] = {}

    def doc(seg: ReviewedSegment) -> dict[str, Any]:
        origin: int | None = None
        if seg.source == "evidence":
            at = _origin_of(seg, base, by_seq)
            origin = used.setdefault(at, len(used))
        return _segment_doc(seg, origin, own_lock)

    part.segment_docs = [doc(s) for s in part.timeline.segments]
    part.removed_docs = [doc(s) for s in part.timeline.removed]
    for at, _ in sorted(used.items(), key=lambda item: item[1]):
        derived = _derived_doc(base[at], active)
        part.derived_docs.append(derived)
        part.included.update(derived["seqs"], derived["attached_seqs"])


# ---- the journal lines and rules that applied -------------------------------------------


def _lines(path: Path, key: str) -> dict[str, bytes]:
    """Each complete journal line by the entry id it holds, verbatim."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    out: dict[str, bytes] = {}
    for raw in data.split(b"\n")[:-1]:
        try:
            doc = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get(key), str):
            out[doc[key]] = raw
    return out


def _applied(part: ReviewPart) -> tuple[list[Adjustment], list[str]]:
    """The adjustments the pack's segments name, and the revokes (with what they undid)
    that concern the invoice's range: (entries in journal order, ids revoked)."""
    adjustments = {a.id: a for a in part.inputs.adjustments}
    wanted = {i for d in (*part.segment_docs, *part.removed_docs) for i in d["adjustment_ids"]}
    start, end = part.window
    undone = {r.revokes for r in adjustments.values() if r.kind == "revoke"}
    for a in adjustments.values():
        in_range = a.start is not None and a.end is not None and a.start < end and a.end > start
        if a.kind != "revoke" and in_range and a.id in undone:
            wanted.add(a.id)
    grown = True
    while grown:  # the revokes of what is wanted (and of those revokes)
        extra = {r.id for r in adjustments.values() if r.kind == "revoke" and r.revokes in wanted}
        grown = not extra <= wanted
        wanted |= extra
    chosen = sorted((adjustments[i] for i in wanted if i in adjustments), key=lambda a: a.seq)
    in_effect = {a.id for a in effective(chosen)}
    return chosen, [a.id for a in chosen if a.kind != "revoke" and a.id not in in_effect]


def review_members(
    root: DataRoot, part: ReviewPart, invoice: ReviewedInvoice
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The ``review/`` members (journal lines verbatim, rules) and the manifest's part."""
    chosen, revoked = _applied(part)
    lines = _lines(adjustments_path(root), "id")
    missing = [a.id for a in chosen if a.id not in lines]
    if missing:
        raise EvidencePackError(
            f"adjustment {missing[0]} is not in the journal as a complete line",
            code="pack_totals_mismatch",
        )
    entries = [lk.invoice_id for lk in part.timeline.locked]
    if invoice.entry is not None:
        entries.insert(0, invoice.entry.id)
    invoice_lines = _lines(invoices_path(root), "id")
    rule_ids = {r for d in (*part.segment_docs, *part.removed_docs, *part.derived_docs)
                for r in d["rule_ids"]}  # fmt: skip
    settings = part.inputs.settings
    rules: list[Rule] = [r for r in settings.rules if r.rule_id in rule_ids]
    members = {
        "review/adjustments.jsonl": b"".join(lines[a.id] + b"\n" for a in chosen),
        "review/invoices.jsonl": b"".join(
            invoice_lines[i] + b"\n" for i in dict.fromkeys(entries) if i in invoice_lines
        ),
        "review/rules.json": msgspec.json.format(
            msgspec.json.encode({"rules": rules, "default": settings.default}, order="sorted"),
            indent=1,
        )
        + b"\n",
    }
    manifest = {
        "applied": [a.id for a in chosen if a.kind != "revoke" and a.id not in revoked],
        "lines": len(chosen),
        "revoked": revoked,
        "member": "review/adjustments.jsonl",
    }
    return members, manifest


__all__ = [
    "ReviewPart",
    "ReviewedInvoice",
    "as_issued",
    "check_figures",
    "review_members",
    "review_part",
    "trace",
]
