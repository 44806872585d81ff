"""Verify a MiMoLo evidence pack on any machine: the standard library and ``cryptography``.

Run as ``python3 verify_pack.py PACK.zip`` (or on an extracted pack directory). Evidence
packs ship this file verbatim in ``verify/`` beside ``pack_open.py``, ``pack_figures.py``,
``verify_review.py``, ``billing_rounding.py`` and the chain verifier's modules
(``verify.py``, ``chain.py``, ...); it checks, independently of MiMoLo:

1. every member's SHA-256 against ``manifest.json`` (and that nothing is added or missing);
2. the hash chain and the signed checkpoints of the pack's ledger days (``verify.py``);
3. that every record a segment comes from is in the pack as a full, verifying line;
4. the totals. A plain invoice (``pack_version`` 1): each segment re-derived from its
   records' windows (the activity rule: active summaries with keep-alive, joined when they
   start within the cooldown, clipped to the invoice period), hours per UTC day rounded to
   0.01 h, amounts to 0.01. An invoice over the reviewed timeline (``pack_version`` 2):
   ``verify_review.py`` (derived evidence, the pieces cut from it, the adjustments behind
   manual, kept and removed time, the billing figures in the invoice's zone with its
   rounding). Either way compared with the manifest and with the figures embedded in the
   invoice PDF itself.

It prints ``OK`` or exactly what differs and exits 0 or 1; a pack it refuses to open
(unsafe member names, oversized members, zip bombs) is ``REFUSED`` with exit 1.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

try:
    from mimolo.evidence import verify as chain_verify
    from mimolo.evidence.pack_figures import (
        activity_span,
        day_seconds,
        derive_segment,
        invoice_figures,
        parse_time,
    )
    from mimolo.evidence.pack_open import extract, member_files, pdf_invoice_totals
    from mimolo.evidence.verify_review import check_review
    from mimolo.protocol import chain
except ImportError:  # standalone, beside the other verifier modules in an evidence pack
    sys.dont_write_bytecode = True  # leave an extracted pack as it was
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import chain  # type: ignore[no-redef,import-not-found]
    import verify as chain_verify  # type: ignore[no-redef,import-not-found]
    from pack_figures import (  # type: ignore[no-redef,import-not-found]
        activity_span,
        day_seconds,
        derive_segment,
        invoice_figures,
        parse_time,
    )
    from pack_open import extract, member_files, pdf_invoice_totals  # type: ignore[no-redef,import-not-found]
    from verify_review import check_review  # type: ignore[no-redef,import-not-found]

PACK_VERSION = 2
"""Packs of invoices over the reviewed timeline; plain invoices' packs stay version 1."""
READABLE_VERSIONS = (1, 2)


# ---- the checks -----------------------------------------------------------------------


class Outcome:
    """What a verification found: problems (each one line of text) and a summary."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.summary = ""
        self.figures: dict[str, Any] = {}

    def add(self, text: str) -> None:
        self.problems.append(text)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_members(files: dict[str, Path], manifest: dict[str, Any], out: Outcome) -> None:
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        out.add("manifest.json: no 'members' table")
        return
    for name in sorted(set(listed) | set(files) - {"manifest.json"}):
        if name not in files:
            out.add(f"member {name}: listed in the manifest but missing from the pack")
        elif name not in listed:
            out.add(f"member {name}: in the pack but not listed in the manifest")
        elif _sha256(files[name]) != listed[name]:
            out.add(f"member {name}: its sha256 differs from the manifest")


def full_records(evidence_dir: Path) -> dict[int, dict[str, Any]]:
    """Every full (not redacted) record line of the pack whose hash recomputes, by seq."""
    out: dict[int, dict[str, Any]] = {}
    for _, path in chain_verify.day_files(evidence_dir):
        for line in path.read_bytes().splitlines():
            link = chain.parse_link(line)
            if link is None or link.redacted or link.recomputed() != link.hash:
                continue
            try:
                doc = json.loads(chain.body_of(line))
            except ValueError:
                continue
            if isinstance(doc, dict):
                out[link.seq] = doc
    return out


def check_segments(
    root: Path, manifest: dict[str, Any], records: dict[int, dict[str, Any]], out: Outcome
) -> dict[str, Any] | None:
    """Re-derive every segment from its records; the recomputed invoice figures."""
    invoice, policy = manifest.get("invoice", {}), manifest.get("policy", {})
    try:
        segments = json.loads((root / "segments.json").read_bytes())["segments"]
        lo, hi = parse_time(invoice["from"]).timestamp(), parse_time(invoice["to"]).timestamp()
        cooldown, rate = float(policy["cooldown_s"]), Decimal(str(invoice["rate"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        out.add(f"segments.json / manifest: unreadable ({exc!r})")
        return None
    used: set[int] = set()
    derived: list[tuple[datetime, datetime]] = []
    for n, seg in enumerate(segments, start=1):
        seqs, attached = list(seg.get("seqs", [])), list(seg.get("attached_seqs", []))
        where = f"segment {n} ({seg.get('start')})"
        for seq in seqs + attached:
            if seq in used:
                out.add(f"{where}: record seq {seq} is claimed by another segment too")
            used.add(seq)
            if seq not in records:
                out.add(f"{where}: record seq {seq} is not in the pack as a full, verifying line")
        if len(seqs) + len(attached) != seg.get("summary_count"):
            out.add(f"{where}: summary_count {seg.get('summary_count')} but names "
                    f"{len(seqs) + len(attached)} records")  # fmt: skip
        spans = []
        for seq in seqs:
            if seq in records:
                try:
                    start, end, client = activity_span(records[seq], policy)
                except ValueError as exc:
                    out.add(f"{where}: record seq {seq} cannot count as work: {exc}")
                    continue
                if policy.get("group_by_client", True) and [client] != (
                    seg.get("client_ids") or [None]
                ):
                    out.add(f"{where}: record seq {seq} is client {client!r}, not the segment's")
                spans.append((start, end))
        if not spans:
            out.add(f"{where}: no record that marks activity")
            continue
        try:
            start_at, end_at = derive_segment(spans, cooldown, lo, hi)
        except ValueError as exc:
            out.add(f"{where}: {exc}")
            continue
        derived.append((start_at, end_at))
        claimed = (seg.get("start"), seg.get("end"), seg.get("duration_s"))
        duration = (end_at - start_at).total_seconds()
        if (parse_time(claimed[0]), parse_time(claimed[1])) != (start_at, end_at) or claimed[
            2
        ] != duration:
            out.add(f"{where}: the records give {start_at.isoformat()} to {end_at.isoformat()} "
                    f"({duration} s), the pack says {claimed[1]} ({claimed[2]} s)")  # fmt: skip
    return invoice_figures(day_seconds(derived), rate)


def check_artifacts(
    files: dict[str, Path], records: dict[int, dict[str, Any]], out: Outcome
) -> None:
    """Each listed artifact is one its record references; included files match its hash."""
    try:
        entries = json.loads(files["artifacts.json"].read_bytes())["artifacts"]
    except (KeyError, ValueError, TypeError) as exc:
        out.add(f"artifacts.json: unreadable ({exc!r})")
        return
    for entry in entries:
        rec = records.get(entry.get("seq"), {}).get("record", {})
        refs = rec.get("data", {}).get("artifacts", []) if isinstance(rec, dict) else []
        key = (entry.get("artifact_id"), entry.get("sha256"))
        if not any(isinstance(r, dict) and (r.get("artifact_id"), r.get("sha256")) == key
                   for r in refs):  # fmt: skip
            out.add(f"artifacts.json: {key[0]} is not referenced by record seq {entry.get('seq')}")
        member = entry.get("member")
        if entry.get("included") and member not in files:
            out.add(f"artifacts.json: {member} is missing from the pack")
        elif entry.get("included") and _sha256(files[member]) != key[1]:
            out.add(f"member {member}: not the artifact its record references (sha256)")


def compare(label: str, claimed: dict[str, Any], figures: dict[str, Any], out: Outcome) -> None:
    for key in ("hours", "amount"):
        if str(claimed.get(key)) != figures[key]:
            out.add(f"{label}: {key} {claimed.get(key)} but the records give {figures[key]}")
    if "lines" in claimed and claimed["lines"] != figures["lines"]:
        theirs = {str(x.get("day")): x for x in claimed["lines"] if isinstance(x, dict)}
        ours = {str(x["day"]): x for x in figures["lines"]}
        for day in sorted(set(theirs) | set(ours)):
            if theirs.get(day) != ours.get(day):
                out.add(f"{label}: the line of {day} is {theirs.get(day)}, the records give "
                        f"{ours.get(day)}")  # fmt: skip


def check_dir(root: Path) -> Outcome:
    """Verify an extracted pack directory."""
    out = Outcome()
    files = member_files(root)
    try:
        manifest = json.loads(files["manifest.json"].read_bytes())
        if manifest.get("pack_version") not in READABLE_VERSIONS:
            raise ValueError(
                f"pack_version {manifest.get('pack_version')!r}, not one of {READABLE_VERSIONS}"
            )
    except (KeyError, ValueError, AttributeError) as exc:
        out.add(f"manifest.json: unusable ({exc!r})")
        return out
    check_members(files, manifest, out)
    try:
        public_raw = chain_verify.load_public_key(root / "host_ed25519.pub")
    except (OSError, ValueError) as exc:
        out.add(f"host_ed25519.pub: unusable ({exc})")
        return out
    if chain.key_id(public_raw) != manifest.get("key_id"):
        out.add(f"host_ed25519.pub is key {chain.key_id(public_raw)}, the manifest names "
                f"{manifest.get('key_id')}")  # fmt: skip
    evidence_dir = root / "evidence"
    days = chain_verify.day_files(evidence_dir)
    report = chain_verify.verify(evidence_dir, public_raw, day_from=days[0][0] if days else None)
    for p in report.problems:
        where = f"evidence/{p.file}:{p.line}" if p.line else f"evidence/{p.file}"
        out.add(f"chain: {p.kind} at {where}: {p.message}")
    records = full_records(evidence_dir)
    if manifest.get("pack_version") == 2:
        figures = _check_reviewed(root, files, manifest, records, out)
        check_artifacts(files, records, out)
        out.summary = _summary(manifest, figures or {}, report)
        return out
    figures = check_segments(root, manifest, records, out)
    check_artifacts(files, records, out)
    if figures is not None:
        out.figures = figures
        compare("manifest", manifest.get("invoice", {}), figures, out)
        try:
            compare(
                "invoice.pdf", pdf_invoice_totals(files["invoice.pdf"].read_bytes()), figures, out
            )
        except (KeyError, ValueError) as exc:
            out.add(f"invoice.pdf: no readable totals ({exc})")
    inv, got = manifest.get("invoice", {}), figures or {}
    out.summary = (
        f"invoice {inv.get('number')} for {inv.get('client')}: {got.get('hours')} h, "
        f"{inv.get('currency')} {got.get('amount')}; {report.records} chained records over "
        f"{len(report.days)} day(s), {report.checkpoints} signed checkpoints, key {report.key_id}"
    )
    return out


def _check_reviewed(
    root: Path,
    files: dict[str, Path],
    manifest: dict[str, Any],
    records: dict[int, dict[str, Any]],
    out: Outcome,
) -> dict[str, Any] | None:
    """A pack of an invoice over the reviewed timeline (``verify_review.py``)."""
    totals: dict[str, Any] | None = None
    try:
        totals = pdf_invoice_totals(files["invoice.pdf"].read_bytes())
    except (KeyError, ValueError) as exc:
        out.add(f"invoice.pdf: no readable totals ({exc})")
    figures = check_review(root, manifest, records, totals, out)
    if figures is not None:
        out.figures = figures
    return figures


def _summary(manifest: dict[str, Any], got: dict[str, Any], report: Any) -> str:
    inv = manifest.get("invoice", {})
    adjustments = manifest.get("adjustments", {}).get("applied", [])
    return (
        f"invoice {inv.get('number')} ({inv.get('status')}) for {inv.get('client')}: "
        f"{got.get('hours')} h, {inv.get('currency')} {got.get('amount')} in "
        f"{inv.get('timezone')} (rounding {got.get('rounding')}, {len(adjustments)} "
        f"adjustment(s)); {report.records} chained records over {len(report.days)} day(s), "
        f"{report.checkpoints} signed checkpoints, key {report.key_id}"
    )


def verify_pack(path: Path, limits: dict[str, int] | None = None) -> Outcome:
    """Verify a pack zip (extracted into a private temp dir) or an extracted directory."""
    if path.is_dir():
        return check_dir(path)
    scratch = Path(tempfile.mkdtemp(prefix="mimolo-pack-"))
    try:
        extract(path, scratch / "pack", limits)
        return check_dir(scratch / "pack")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python3 verify_pack.py PACK.zip|PACK_DIR", file=sys.stderr)
        return 2
    try:
        outcome = verify_pack(Path(argv[0]))
    except (ValueError, OSError) as exc:
        print(f"REFUSED: {exc}")
        return 1
    for problem in outcome.problems:
        print(f"DIFFERS: {problem}")
    print(
        ("OK: " if outcome.ok else f"FAILED ({len(outcome.problems)} problem(s)): ")
        + outcome.summary
    )
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
