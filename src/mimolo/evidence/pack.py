"""Evidence packs: an invoice with everything a third party needs to check it, in one zip.

The pack holds the invoice PDF, the derived segments with the seqs of the ledger records
each comes from, the ledger days those records are on (full lines for them, redacted
links for every other record so the chain still verifies end to end), the signed
checkpoints that cover those days and the one before the first line, the host public
key, artifact hashes, and the standalone verifier (``verify/``). Nothing here runs a
reporter: callers (the CLI, Control) generate the invoice and hand over its PDF.

A pack is verified with the shipped verifier before it is written: a pack that would not
verify is refused with the reason, never written.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

import mimolo
from mimolo import __version__
from mimolo.dataroot import DataRoot, write_atomic
from mimolo.errors import EvidencePackError
from mimolo.evidence import verify as chain_verify
from mimolo.evidence import verify_pack
from mimolo.evidence.pack_artifacts import artifact_entries
from mimolo.evidence.pack_figures import day_seconds, invoice_figures
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.evidence.pack_records import DayLines, evidence_members, read_days, segment_records
from mimolo.evidence.pack_review import (
    ReviewedInvoice,
    check_figures,
    review_members,
    review_part,
    trace,
)
from mimolo.protocol import chain
from mimolo.timeline.models import Segment, TimelinePolicy

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PACK_MODULES = (
    "mimolo/evidence/pack_open.py",
    "mimolo/evidence/pack_figures.py",
    "mimolo/protocol/billing_rounding.py",
    "mimolo/evidence/verify_review.py",
    "mimolo/evidence/verify_pack.py",
)
PLAIN_PACK_VERSION = 1
"""The pack verifier's own modules, shipped beside ``verify.STANDALONE_MODULES``."""
README = """\
MiMoLo evidence pack
====================

This zip holds an invoice (invoice.pdf), the work segments it bills (segments.json), the
ledger records they come from (evidence/, other records of those days as redacted links),
the signed checkpoints, the host's public key (host_ed25519.pub), artifact hashes
(artifacts.json) and a standalone verifier (verify/). An invoice made over the reviewed
timeline also carries the review (review/: the adjustments' journal lines as written, the
invoice entry that locked an issued invoice's figures, the rules that placed the time).
manifest.json names every member's SHA-256.

To verify it on any machine with Python 3.10 or later:

    python3 -m venv v && v/bin/pip install cryptography &&
    v/bin/python verify/verify_pack.py pack.zip

(run from an extracted copy, or give the path of this zip as pack.zip). The verifier checks
every member's hash, the hash chain and the Ed25519 checkpoint signatures, re-derives each
segment from its records, checks that every manual entry, kept idle gap and exclusion is
backed by an adjustment in the pack that was not revoked, recomputes the invoice's hours
and amount (in the invoice's time zone, with its rounding), compares them with the
manifest, the invoice entry and the figures embedded in invoice.pdf, and prints OK or what
differs (exit status 0 or 1). It needs only Python's standard library and `cryptography`
(and, where the system has no time zone database, `pip install tzdata`).

What it proves: the records were chained and signed by this host's key as they were
written, and were not edited, deleted or reordered since; the invoice's figures follow
from them. What it does not prove on its own: that the host's owner did not rewrite the
whole ledger before the checkpoints were anchored somewhere outside the machine.
"""


@dataclass(frozen=True)
class PackSource:
    """Everything a pack is made from; the caller derived the segments and the PDF."""

    root: DataRoot
    public_key_pem: bytes
    segments: list[Segment]
    policy: TimelinePolicy
    window: tuple[datetime, datetime]
    client_id: str | None
    pdf: bytes
    with_artifacts: bool = False
    review: ReviewedInvoice | None = None  # None: a plain invoice, without the review layer


def invoice_totals(pdf: bytes) -> dict[str, Any]:
    """The figures an invoice PDF embeds (``pack_not_invoice`` when it has none)."""
    try:
        return pdf_invoice_totals(pdf)
    except ValueError as exc:
        raise EvidencePackError(
            f"not a MiMoLo invoice PDF: {exc}", code="pack_not_invoice"
        ) from None


def _policy_doc(policy: TimelinePolicy, instances: set[str]) -> dict[str, Any]:
    active = policy.active_instances
    return {
        "cooldown_s": policy.cooldown_s,
        "active_instances": sorted(active) if active is not None else None,
        "client_of_instance": {
            k: v for k, v in sorted(policy.client_of_instance.items()) if k in instances
        },
        "group_by_client": policy.group_by_client,
    }


def _check_totals(src: PackSource, totals: dict[str, Any]) -> None:
    """The PDF must be the invoice of this period and client, and the timeline must still
    give its figures (else the evidence or the policy changed since it was generated)."""
    start, end = src.window
    if (totals.get("from"), totals.get("to"), totals.get("client")) != (
        start.isoformat(),
        end.isoformat(),
        src.client_id,
    ):
        raise EvidencePackError(
            f"the invoice is for {totals.get('client')} {totals.get('from')}..{totals.get('to')}, "
            f"not {src.client_id} {start.isoformat()}..{end.isoformat()}",
            code="pack_totals_mismatch",
        )
    spans = [(s.start, s.end) for s in src.segments]
    figures = invoice_figures(day_seconds(spans), Decimal(str(totals.get("rate"))))
    if (figures["hours"], figures["amount"]) != (totals.get("hours"), totals.get("amount")):
        raise EvidencePackError(
            f"the timeline now gives {figures['hours']} h / {figures['amount']}, the invoice "
            f"says {totals.get('hours')} h / {totals.get('amount')}: regenerate the invoice",
            code="pack_totals_mismatch",
        )


def _verifier_files() -> dict[str, bytes]:
    """The verifier, copied verbatim from this source tree (side by side in ``verify/``)."""
    src = Path(mimolo.__file__).resolve().parent.parent
    modules = (*chain_verify.STANDALONE_MODULES, *PACK_MODULES)
    return {f"verify/{Path(m).name}": (src / m).read_bytes() for m in modules}


def build_pack(src: PackSource, *, created: datetime | None = None) -> bytes:
    """The pack's zip bytes; ``EvidencePackError`` when it cannot be built or would not verify."""
    totals = invoice_totals(src.pdf)
    days = read_days(src.root.evidence_file, src.window[0], src.window[1], src.policy)
    if src.review is not None:
        members, included, head = _review_content(src, totals, days)
    else:
        members, included, head = _plain_content(src, totals, days)
    evidence, records, redacted = evidence_members(src.root, days, included)
    artifacts, artifact_files = artifact_entries(src.root, src.with_artifacts, records)
    public_raw = _public_raw(src.public_key_pem)
    members.update(
        {
            **evidence,
            "invoice.pdf": src.pdf,
            "host_ed25519.pub": src.public_key_pem,
            "artifacts.json": _json({"artifacts": artifacts}),
            "README.txt": README.encode(),
            **artifact_files,
            **_verifier_files(),
        }
    )
    manifest = {
        **head,
        "created": (created or datetime.now(UTC)).isoformat(),
        "generator": f"MiMoLo {__version__}",
        "host": next((str(r.get("host")) for r in records), None),
        "key_id": chain.key_id(public_raw),
        "records": {"full": len(records), "redacted": redacted},
        "members": {n: hashlib.sha256(data).hexdigest() for n, data in sorted(members.items())},
    }
    members["manifest.json"] = _json(manifest)
    _verify_staged(members)
    return _zip(members)


_INVOICE_KEYS = ("number", "client", "from", "to", "rate", "currency", "hours", "amount", "lines")


def _plain_content(
    src: PackSource, totals: dict[str, Any], days: dict[date, DayLines]
) -> tuple[dict[str, bytes], set[int], dict[str, Any]]:
    """A plain invoice (no review layer): segments per UTC day, as before the review."""
    _check_totals(src, totals)
    per_segment = segment_records(src.segments, days, src.policy, src.window, src.client_id)
    included: set[int] = set()
    seg_docs = []
    for seg, (seqs, attached) in zip(src.segments, per_segment, strict=True):
        if len(seqs) + len(attached) != seg.summary_count:
            raise EvidencePackError(
                f"the segment at {seg.start.isoformat()} counts {seg.summary_count} records, the "
                f"ledger gives {len(seqs) + len(attached)}: the evidence changed, regenerate",
                code="pack_totals_mismatch",
            )
        included.update(seqs, attached)
        seg_docs.append({**msgspec.to_builtins(seg), "seqs": seqs, "attached_seqs": attached})
    instances = {i for seg in src.segments for i in seg.instances}
    head = {
        "pack_version": PLAIN_PACK_VERSION,
        "invoice": {k: totals.get(k) for k in _INVOICE_KEYS},
        "policy": _policy_doc(src.policy, instances),
        "adjustments": {"applied": [], "note": "none: a plain invoice, without the review layer"},
    }
    return {"segments.json": _json({"segments": seg_docs})}, included, head


def _check_invoice(src: PackSource, review: ReviewedInvoice, totals: dict[str, Any]) -> None:
    """The PDF must be the invoice of this period, client, project, zone (and number)."""
    start, end = src.window
    zone = review.entry.timezone if review.entry is not None else review.inputs.tz.key
    want = {"from": start.isoformat(), "to": end.isoformat(), "client": review.client_id,
            "project": review.project, "timezone": zone}  # fmt: skip
    if review.entry is not None:
        want.update(status="issued", number=review.entry.number)
    wrong = {k: totals.get(k) for k, v in want.items() if totals.get(k) != v}
    if wrong:
        raise EvidencePackError(
            f"the invoice PDF is not this invoice: it says {wrong}, the pack is for "
            f"{ {k: want[k] for k in wrong} }",
            code="pack_totals_mismatch",
        )


def _review_content(
    src: PackSource, totals: dict[str, Any], days: dict[date, DayLines]
) -> tuple[dict[str, bytes], set[int], dict[str, Any]]:
    """An invoice over the reviewed timeline: reviewed and derived segments, adjustments,
    invoice entries, rules and figures."""
    review = src.review
    assert review is not None
    _check_invoice(src, review, totals)
    part = review_part(src.root, src.policy, src.window, review)
    derivation = totals.get("derivation")
    check_figures(part, review, derivation if isinstance(derivation, dict) else {})
    entry = review.entry
    trace(part, days, entry.id if entry is not None else None)
    for doc in part.derived_docs:
        if len(doc["seqs"]) + len(doc["attached_seqs"]) != doc["summary_count"]:
            raise EvidencePackError(
                f"the evidence at {doc['start']} counts {doc['summary_count']} records, the "
                f"ledger gives {len(doc['seqs']) + len(doc['attached_seqs'])}: regenerate",
                code="pack_totals_mismatch",
            )
    members, adjustments = review_members(src.root, part, review)
    members["segments.json"] = _json(
        {"segments": part.segment_docs, "removed": part.removed_docs,
         "derived": part.derived_docs}
    )  # fmt: skip
    instances = {i for doc in part.derived_docs for i in doc["instances"]}
    figures = msgspec.to_builtins(entry.figures if entry is not None else part.figures)
    invoice = {k: totals.get(k) for k in (*_INVOICE_KEYS, "project", "timezone", "status")}
    invoice.update(figures=figures, invoice_id=entry.id if entry is not None else None,
                   inputs_hash=entry.inputs_hash if entry is not None else "")  # fmt: skip
    head = {
        "pack_version": verify_pack.PACK_VERSION,
        "invoice": invoice,
        "policy": _policy_doc(src.policy, instances),
        "adjustments": adjustments,
        "review": {
            "timezone": part.inputs.tz.key,
            "inputs_hash_now": part.inputs_hash,
            "inputs_hash_matches": None if entry is None else part.inputs_hash == entry.inputs_hash,
            "locked": [lk.invoice_id for lk in part.timeline.locked],
        },
    }
    return members, part.included, head


def _public_raw(pem: bytes) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mimolo-key-") as tmp:
        path = Path(tmp) / "host_ed25519.pub"
        path.write_bytes(pem)
        try:
            return chain_verify.load_public_key(path)
        except ValueError as exc:
            raise EvidencePackError(f"the host public key is unusable: {exc}") from None


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def _verify_staged(members: dict[str, bytes]) -> None:
    """Run the shipped verifier over the pack before it exists; refuse one that fails."""
    scratch = Path(tempfile.mkdtemp(prefix="mimolo-pack-"))
    try:
        for name, data in members.items():
            path = scratch.joinpath(*name.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_bytes(data)
        outcome = verify_pack.check_dir(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not outcome.ok:
        shown = "; ".join(outcome.problems[:5])
        more = f" (and {len(outcome.problems) - 5} more)" if len(outcome.problems) > 5 else ""
        raise EvidencePackError(
            f"the evidence behind this invoice does not verify: {shown}{more}",
            code="pack_does_not_verify",
        )


def _zip(members: dict[str, bytes]) -> bytes:
    """Members in a fixed order (manifest first), fixed times, 0600: same input, same zip."""
    buf = io.BytesIO()
    order = ["manifest.json", *sorted(n for n in members if n != "manifest.json")]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in order:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = 0o100600 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buf.getvalue()


def write_pack(path: Path, data: bytes) -> None:
    """Write the pack atomically, owner-only."""
    write_atomic(path, data)


def default_pack_path(invoice_path: Path) -> Path:
    """``invoice-acme-20260301-20260331.pdf`` -> ``...-20260331.evidence.zip`` beside it."""
    return invoice_path.with_name(f"{invoice_path.stem}.evidence.zip")


__all__ = [
    "README",
    "PackSource",
    "build_pack",
    "default_pack_path",
    "invoice_totals",
    "write_pack",
]
