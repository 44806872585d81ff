"""Checking the review side of an evidence pack (``pack_version`` 2), independently of MiMoLo.

Standard library only; shipped verbatim in every pack's ``verify/`` and used by
``verify_pack.py``. Given the pack's verified ledger records it checks that:

- every derived evidence segment follows from its records (DESIGN §6's rule, clipped to the
  invoice period), and every rule it names is in the pack;
- every reviewed "evidence" piece lies inside the derived segment it was cut from, cut only
  where an adjustment, an invoice period or a same-category piece explains it;
- every "manual" / "idle_kept" piece, every exclusion and every idle removal is backed by an
  adjustment in the pack, in effect (not revoked), whose range holds it;
- the billing figures follow from the pieces with the rounding rule MiMoLo bills with
  (``billing_rounding.py``), add up, and hours times rate gives the amount; the manifest,
  the invoice entry and the PDF's embedded figures all say the same.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    from mimolo.evidence.pack_figures import activity_span, derive_segment, parse_time
    from mimolo.protocol.billing_rounding import (
        apply_rounding,
        billed_amount,
        billed_hours,
        pre_rounding,
        whole_terms,
    )
except ImportError:  # standalone, beside the other verifier modules in an evidence pack
    from billing_rounding import (  # type: ignore[no-redef,import-not-found]
        apply_rounding,
        billed_amount,
        billed_hours,
        pre_rounding,
        whole_terms,
    )
    from pack_figures import activity_span, derive_segment, parse_time  # type: ignore[no-redef,import-not-found]

FIGURE_KEYS = (
    "recorded_active_s", "idle_removed_s", "idle_kept_s", "manual_added_s", "excluded_s",
    "rounding_delta_s", "billable_s", "hours", "rate", "currency", "amount", "rounding",
    "rounding_minutes", "per_day",
)  # fmt: skip
_SUMMED = FIGURE_KEYS[:7]
_BACKING = {  # what a piece's source or removal needs, and which part of the range holds it
    "manual": (("manual_entry", "start", "end"),),
    "idle_kept": (("idle_keep", "start", "end"), ("idle_split", "start", "split_at")),
    "excluded": (("exclude_range", "start", "end"),),
    "idle": (("idle_discard", "start", "end"), ("idle_split", "split_at", "end")),
}


def _t(value: Any) -> float:
    return parse_time(value).timestamp()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data.splitlines() if line.strip()]


class Review:
    """The review members of a pack, read."""

    def __init__(self, root: Path) -> None:
        doc = json.loads((root / "segments.json").read_bytes())
        self.segments: list[dict[str, Any]] = doc["segments"]
        self.removed: list[dict[str, Any]] = doc.get("removed", [])
        self.derived: list[dict[str, Any]] = doc.get("derived", [])
        self.adjustments = _jsonl(root / "review" / "adjustments.jsonl")
        self.invoices = _jsonl(root / "review" / "invoices.jsonl")
        rules = json.loads((root / "review" / "rules.json").read_bytes())
        self.rules = {r["rule_id"]: r for r in rules.get("rules", [])}
        self.default: dict[str, Any] = rules.get("default") or {}

    def pieces(self) -> list[tuple[str, dict[str, Any]]]:
        """Every reviewed piece with a label: counted segments, then time taken out."""
        out = [(f"segment {n}", s) for n, s in enumerate(self.segments, 1)]
        return out + [(f"removed {n}", s) for n, s in enumerate(self.removed, 1)]


def effective(adjustments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The entries in effect: not revokes, not revoked by a revoke in effect (seq order)."""
    ordered = sorted(adjustments, key=lambda a: a.get("seq", 0))
    revoked: set[str] = set()
    for adj in reversed(ordered):
        if adj.get("id") in revoked:
            continue
        if adj.get("kind") == "revoke" and adj.get("revokes"):
            revoked.add(adj["revokes"])
    return {a["id"]: a for a in ordered if a.get("kind") != "revoke" and a.get("id") not in revoked}


def check_derived(
    review: Review, records: dict[int, dict[str, Any]], policy: dict[str, Any],
    window: tuple[float, float], out: Any,
) -> None:  # fmt: skip
    """Each derived evidence segment re-derived from its records (clipped to the period)."""
    used: set[int] = set()
    cooldown = float(policy["cooldown_s"])
    for n, seg in enumerate(review.derived, 1):
        where = f"derived {n} ({seg.get('start')})"
        seqs, attached = list(seg.get("seqs", [])), list(seg.get("attached_seqs", []))
        for seq in seqs + attached:
            if seq not in records:
                out.add(f"{where}: record seq {seq} is not in the pack as a full, verifying line")
        for seq in seqs:
            if seq in used:
                out.add(f"{where}: record seq {seq} is claimed by another segment too")
            used.add(seq)
        if len(seqs) + len(attached) != seg.get("summary_count"):
            out.add(f"{where}: summary_count {seg.get('summary_count')} but names "
                    f"{len(seqs) + len(attached)} records")  # fmt: skip
        for rule_id in seg.get("rule_ids", []):
            if rule_id not in review.rules:
                out.add(f"{where}: rule {rule_id!r} placed it but is not in review/rules.json")
        spans = []
        for seq in (s for s in seqs if s in records):
            try:
                start, end, client = activity_span(records[seq], policy)
            except ValueError as exc:
                out.add(f"{where}: record seq {seq} cannot count as work: {exc}")
                continue
            expected = client if client is not None else review.default.get("client_id")
            if not seg.get("rule_ids") and expected != seg.get("client_id"):
                out.add(f"{where}: record seq {seq} is client {expected!r}, no rule gives it "
                        f"to {seg.get('client_id')!r}")  # fmt: skip
            spans.append((start, end))
        if not spans:
            out.add(f"{where}: no record that marks activity")
            continue
        try:
            start_at, end_at = derive_segment(spans, cooldown, *window)
        except ValueError as exc:
            out.add(f"{where}: {exc}")
            continue
        duration = (end_at - start_at).total_seconds()
        claimed = (parse_time(seg.get("start")), parse_time(seg.get("end")), seg.get("duration_s"))
        if claimed != (start_at, end_at, duration):
            out.add(f"{where}: the records give {start_at.isoformat()} to "
                    f"{end_at.isoformat()} ({duration} s), the pack says {seg.get('start')} "
                    f"to {seg.get('end')}")  # fmt: skip


def _category(seg: dict[str, Any]) -> tuple[Any, Any, tuple[str, ...]]:
    return (seg.get("client_id"), seg.get("project"), tuple(seg.get("tags") or ()))


def check_pieces(
    review: Review, in_effect: dict[str, dict[str, Any]], window: tuple[float, float], out: Any
) -> None:
    """Evidence pieces inside their derived segment, cut only where something explains it."""
    cuts = set(window)
    for adj in in_effect.values():
        cuts.update(_t(adj[k]) for k in ("start", "end", "split_at") if adj.get(k))
    for entry in review.invoices:
        cuts.update(_t(entry[k]) for k in ("start", "end") if entry.get(k))
    for where, seg in review.pieces():
        try:
            a, b = _t(seg["start"]), _t(seg["end"])
        except (KeyError, ValueError) as exc:
            out.add(f"{where}: unreadable ({exc!r})")
            continue
        if seg.get("duration_s") != b - a:
            out.add(f"{where}: duration_s {seg.get('duration_s')} but it lasts {b - a} s")
        if seg.get("source") != "evidence":
            continue
        origin = seg.get("origin")
        if not isinstance(origin, int) or not 0 <= origin < len(review.derived):
            out.add(f"{where} ({seg['start']}): names no derived evidence segment")
            continue
        parent = review.derived[origin]
        lo, hi = _t(parent["start"]), _t(parent["end"])
        if a < lo or b > hi:
            out.add(f"{where} ({seg['start']}): reaches outside the evidence it comes from "
                    f"({parent['start']} to {parent['end']})")  # fmt: skip
        own = set(parent.get("seqs", [])) | set(parent.get("attached_seqs", []))
        foreign = sorted(set(seg.get("summary_seqs", [])) - own)
        if foreign:
            out.add(f"{where} ({seg['start']}): records {foreign} are not its evidence's")
        near = {t for w, s in review.pieces() if s is not seg and s.get("source") == "evidence"
                and s.get("origin") != origin and _category(s) == _category(seg)
                for t in (_t(s["start"]), _t(s["end"]))}  # fmt: skip
        for t, edge, name in ((a, lo, "start"), (b, hi, "end")):
            if t != edge and t not in cuts and t not in near:
                out.add(f"{where}: its {name} {seg[name]} cuts its evidence where no adjustment, "
                        "invoice period or other segment explains it")  # fmt: skip


def check_adjustments(review: Review, in_effect: dict[str, dict[str, Any]], out: Any) -> None:
    """Every adjustment a piece names is in the pack and in effect; manual and kept time,
    exclusions and idle removals are each held by an adjustment of their kind."""
    listed = {a.get("id"): a for a in review.adjustments}
    revokers = {
        a.get("revokes"): a.get("id") for a in review.adjustments if a.get("kind") == "revoke"
    }
    for where, seg in review.pieces():
        label = f"{where} ({seg.get('source')}, {seg.get('start')})"
        for adj_id in seg.get("adjustment_ids", []):
            if adj_id not in listed:
                out.add(f"{label}: adjustment {adj_id} is not in the pack")
            elif adj_id not in in_effect:
                out.add(f"{label}: adjustment {adj_id} was revoked (by {revokers.get(adj_id)})")
        needs = [n for n in (seg.get("source"), seg.get("removed")) if n in _BACKING]
        a, b = _t(seg["start"]), _t(seg["end"])
        for need in needs:
            if not any(
                adj.get("kind") == kind and adj.get(lo) and adj.get(hi)
                and _t(adj[lo]) <= a and b <= _t(adj[hi])
                for adj in (in_effect.get(i) for i in seg.get("adjustment_ids", []))
                if adj is not None
                for kind, lo, hi in _BACKING[need]
            ):  # fmt: skip
                kinds = " or ".join(k for k, _, _ in _BACKING[need])
                out.add(f"{label}: no {kinds} in effect in the pack holds this {need} time")


def held_entries(review: Review, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """Other issued invoices wholly inside the range and scope: billed as they locked."""
    lo, hi = _t(invoice["from"]), _t(invoice["to"])
    client, project = invoice.get("client"), invoice.get("project")
    return [
        e for e in review.invoices
        if e.get("kind") == "issued" and e.get("id") != invoice.get("invoice_id")
        and e.get("figures") and e.get("client_id") == client
        and (project is None or e.get("project") == project)
        and _t(e["start"]) >= lo and _t(e["end"]) <= hi
    ]  # fmt: skip


def recompute(review: Review, invoice: dict[str, Any], zone: Any) -> dict[str, Any]:
    """The billing figures the pieces give, with the claimed rate, currency and rounding."""
    claimed = invoice["figures"]
    held = held_entries(review, invoice)
    skip = {e["id"] for e in held}
    lo, hi = _t(invoice["from"]), _t(invoice["to"])
    sums = dict.fromkeys(("evidence", "manual", "idle_kept", "excluded", "idle"), 0.0)
    entries: list[tuple[str, float]] = []
    for counted, group in ((True, review.segments), (False, review.removed)):
        for seg in group:
            if seg.get("locked_by") in skip or seg.get("client_id") != invoice.get("client"):
                continue
            if invoice.get("project") is not None and seg.get("project") != invoice["project"]:
                continue
            a, b = max(_t(seg["start"]), lo), min(_t(seg["end"]), hi)
            if b <= a:
                continue
            sums[seg["source"]] += b - a
            if counted:
                day = datetime.fromtimestamp(a, zone).date().isoformat()
                entries.append((day, b - a))
            else:
                sums[seg["removed"]] += b - a
    terms = whole_terms(sums)
    pre = pre_rounding(terms)
    unit = int(claimed["rounding_minutes"]) * 60
    billable, per_day = apply_rounding(entries, pre, claimed["rounding"], unit)
    hours = billed_hours(billable)
    rate = Decimal(str(claimed["rate"]))
    ours: dict[str, Any] = {
        "recorded_active_s": terms["evidence"], "idle_removed_s": terms["idle"],
        "idle_kept_s": terms["idle_kept"], "manual_added_s": terms["manual"],
        "excluded_s": terms["excluded"], "rounding_delta_s": billable - pre,
        "billable_s": billable, "hours": str(hours), "rate": str(rate),
        "currency": claimed["currency"], "amount": str(billed_amount(hours, rate)),
        "rounding": claimed["rounding"], "rounding_minutes": claimed["rounding_minutes"],
        "per_day": per_day,
    }  # fmt: skip
    return combine(ours, [e["figures"] for e in held])


def combine(first: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures added together, as MiMoLo bills a range holding issued periods."""
    if not others:
        return first
    parts = [first, *others]
    out = dict(first)
    for key in _SUMMED:
        out[key] = float(sum(p[key] for p in parts))
    out["hours"] = str(sum((Decimal(p["hours"]) for p in parts), Decimal(0)))
    out["amount"] = str(sum((Decimal(p["amount"]) for p in parts), Decimal(0)))
    per_day: dict[str, float] = {}
    for part in parts:
        for day, seconds in part["per_day"].items():
            per_day[day] = per_day.get(day, 0.0) + seconds
    out["per_day"] = dict(sorted(per_day.items()))
    return out


def check_claim(label: str, claimed: Any, ours: dict[str, Any], out: Any, *, simple: bool) -> None:
    """Claimed figures against the recomputed ones; they must add up, and (one invoice,
    no issued periods inside) hours x rate must be the amount."""
    if not isinstance(claimed, dict):
        out.add(f"{label}: no billing figures")
        return
    for key in FIGURE_KEYS:
        if claimed.get(key) != ours[key]:
            out.add(f"{label}: {key} {claimed.get(key)} but the segments give {ours[key]}")
    try:
        sides = [float(claimed[k]) for k in _SUMMED]
        derived = sides[0] - sides[1] + sides[2] + sides[3] - sides[4] + sides[5]
        if derived != sides[6]:
            out.add(f"{label}: the figures do not add up: recorded - idle + kept + manual - "
                    f"excluded + rounding = {derived}, not billable_s {sides[6]}")  # fmt: skip
        hours, rate = Decimal(str(claimed["hours"])), Decimal(str(claimed["rate"]))
        if simple and billed_hours(sides[6]) != hours:
            out.add(f"{label}: hours {hours} are not billable_s {sides[6]} in hours "
                    f"({billed_hours(sides[6])})")  # fmt: skip
        if simple and billed_amount(hours, rate) != Decimal(str(claimed["amount"])):
            out.add(f"{label}: amount {claimed['amount']} is not hours x rate "
                    f"({hours} x {rate} = {billed_amount(hours, rate)})")  # fmt: skip
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        out.add(f"{label}: unreadable figures ({exc!r})")


def check_pdf(totals: dict[str, Any], invoice: dict[str, Any], ours: dict[str, Any], out: Any,
              *, simple: bool) -> None:  # fmt: skip
    """The PDF's embedded figures: the same invoice, the same derivation, lines that sum."""
    for key in ("number", "status", "client", "project", "from", "to", "timezone", "inputs_hash"):
        if totals.get(key) != invoice.get(key):
            out.add(f"invoice.pdf: {key} {totals.get(key)!r}, the manifest says "
                    f"{invoice.get(key)!r}")  # fmt: skip
    for key in ("hours", "amount"):
        if str(totals.get(key)) != ours[key]:
            out.add(f"invoice.pdf: {key} {totals.get(key)} but the records give {ours[key]}")
    check_claim("invoice.pdf", totals.get("derivation"), ours, out, simple=simple)
    lines = [x for x in totals.get("lines", []) if isinstance(x, dict)]
    days = sorted(d for d, s in ours["per_day"].items() if s > 0)
    if sorted(str(x.get("day")) for x in lines) != days:
        out.add(f"invoice.pdf: lines for {[x.get('day') for x in lines]}, the figures bill {days}")
    for key in ("hours", "amount"):
        total = sum((Decimal(str(x.get(key))) for x in lines), Decimal(0))
        if total != Decimal(ours[key]):
            out.add(f"invoice.pdf: the lines' {key} sum to {total}, not {ours[key]}")


def check_review(
    root: Path, manifest: dict[str, Any], records: dict[int, dict[str, Any]],
    totals: dict[str, Any] | None, out: Any,
) -> dict[str, Any] | None:  # fmt: skip
    """Every review check of the pack; the recomputed figures (None when unreadable)."""
    invoice, policy = manifest.get("invoice", {}), manifest.get("policy", {})
    try:
        review = Review(root)
        window = (_t(invoice["from"]), _t(invoice["to"]))
        zone = ZoneInfo(invoice["timezone"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        out.add(f"segments.json / review/ / manifest: unreadable ({exc!r})")
        return None
    except ZoneInfoNotFoundError:
        out.add(f"time zone {invoice.get('timezone')!r} is unknown here (pip install tzdata)")
        return None
    in_effect = effective(review.adjustments)
    check_derived(review, records, policy, window, out)
    check_pieces(review, in_effect, window, out)
    check_adjustments(review, in_effect, out)
    try:
        ours = recompute(review, invoice, zone)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        out.add(f"figures: cannot be recomputed ({exc!r})")
        return None
    simple = not held_entries(review, invoice)
    check_claim("manifest", invoice.get("figures"), ours, out, simple=simple)
    for key in ("hours", "amount"):
        if str(invoice.get(key)) != ours[key]:
            out.add(f"manifest: {key} {invoice.get(key)} but the records give {ours[key]}")
    if invoice.get("invoice_id") is not None:
        entry = next((e for e in review.invoices if e.get("id") == invoice["invoice_id"]), None)
        if entry is None:
            out.add(f"review/invoices.jsonl: no entry {invoice['invoice_id']} (the invoice)")
        else:
            check_claim("invoice entry", entry.get("figures"), ours, out, simple=simple)
            pairs = (("number", "number"), ("client", "client_id"), ("timezone", "timezone"),
                     ("inputs_hash", "inputs_hash"))  # fmt: skip
            for key, theirs in pairs:
                if entry.get(theirs) != invoice.get(key):
                    out.add(f"invoice entry: {theirs} {entry.get(theirs)!r}, the manifest says "
                            f"{invoice.get(key)!r}")  # fmt: skip
            if (_t(entry["start"]), _t(entry["end"])) != window:
                out.add("invoice entry: its range is not the invoice's period")
    if totals is not None:
        check_pdf(totals, invoice, ours, out, simple=simple)
    return ours


__all__ = ["Review", "check_review", "combine", "effective", "recompute"]
