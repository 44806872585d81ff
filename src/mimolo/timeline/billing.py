"""Billing figures that show their workings (pure, Decimal money).

For one client (and project) over ``[start, end)``: recorded evidence time, idle taken
out, idle kept, manual additions, exclusions, rounding and the billable total, such that
``recorded_active_s - idle_removed_s + idle_kept_s + manual_added_s - excluded_s
+ rounding_delta_s == billable_s`` holds exactly: every figure is a whole number of
seconds (exact in a float), and rounding is computed as a delta on top.

Rounding goes up to ``rounding_minutes``: per entry (each counted segment), per local
day, or once per invoice. Hours are billed to the hundredth (half up) and the amount is
hours times rate to the cent (the rule itself is ``mimolo.protocol.billing_rounding``,
which evidence packs ship to their verifier). A period an issued invoice locks is never
recomputed: its figures are the invoice entry's own, added as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

import msgspec

from mimolo.errors import ConfigError
from mimolo.protocol.billing_rounding import (
    CENT,
    apply_rounding,
    billed_amount,
    billed_hours,
    pre_rounding,
    whole_terms,
)
from mimolo.protocol.review import BillingFigures, ReviewSettings, RoundingMode
from mimolo.timeline.models import to_epoch
from mimolo.timeline.reviewed import ReviewedSegment, ReviewedTimeline
from mimolo.timeline.zones import resolve_zone


def parse_rate(value: str | Decimal, field: str = "rate") -> Decimal:
    """A rate as a finite, non-negative Decimal (``ConfigError`` naming ``field``)."""
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ConfigError(f"{value!r} is not a decimal number", field=field) from exc
    if not rate.is_finite() or rate < 0:
        raise ConfigError(f"{value!r} must be a number >= 0", field=field)
    return rate


def _scope(seg: ReviewedSegment, client_id: str, project: str | None) -> bool:
    return seg.client_id == client_id and (project is None or seg.project == project)


def _clip(seg: ReviewedSegment, lo: float, hi: float) -> tuple[float, float] | None:
    a, b = max(to_epoch(seg.start), lo), min(to_epoch(seg.end), hi)
    return (a, b) if b > a else None


def _fresh(
    timeline: ReviewedTimeline,
    client_id: str,
    project: str | None,
    lo: float,
    hi: float,
    rounding: RoundingMode,
    unit: int,
    held: set[str],
) -> tuple[dict[str, float], dict[str, float]]:
    """The terms (whole seconds) and per-day billable seconds of what ``held`` locks do
    not bill."""
    sums = dict.fromkeys(("evidence", "manual", "idle_kept", "excluded", "idle"), 0.0)
    entries: list[tuple[float, float]] = []
    for seg in timeline.segments:
        if seg.locked_by not in held and _scope(seg, client_id, project):
            span = _clip(seg, lo, hi)
            if span is not None:
                sums[seg.source] += span[1] - span[0]
                entries.append(span)
    for seg in timeline.removed:
        if seg.locked_by not in held and _scope(seg, client_id, project):
            span = _clip(seg, lo, hi)
            if span is not None:
                sums[seg.source] += span[1] - span[0]
                sums[seg.removed] += span[1] - span[0]
    terms = whole_terms(sums)
    pre = pre_rounding(terms)
    zone = resolve_zone(timeline.timezone)
    days = [(datetime.fromtimestamp(a, zone).date().isoformat(), b - a) for a, b in entries]
    billable, per_day = apply_rounding(days, pre, rounding, unit)
    terms["pre"] = pre
    terms["billable"] = billable
    return terms, per_day


def billing_figures(
    timeline: ReviewedTimeline,
    *,
    client_id: str,
    project: str | None,
    start: datetime,
    end: datetime,
    rate: Decimal,
    currency: str,
    rounding: RoundingMode,
    rounding_minutes: int,
) -> BillingFigures:
    """The figures of ``client_id`` (``project``: one project, None: all) in the range.

    Locked periods of the timeline that lie wholly inside the range and within its scope
    are not recomputed: their invoice's figures are added as they are. Segments of a lock
    only partly inside (or wider than the scope) are counted fresh.
    """
    if rounding_minutes < 0:
        raise ConfigError("must be >= 0", field="rounding_minutes")
    rate = parse_rate(rate)
    lo, hi = to_epoch(start), to_epoch(end)
    inside = [
        lk
        for lk in timeline.locked
        if lk.figures is not None
        and lk.client_id == client_id
        and (project is None or lk.project == project)
        and to_epoch(lk.start) >= lo
        and to_epoch(lk.end) <= hi
    ]
    held = {lk.invoice_id for lk in inside}
    terms, per_day = _fresh(
        timeline, client_id, project, lo, hi, rounding, rounding_minutes * 60, held
    )
    hours = billed_hours(terms["billable"])
    amount = billed_amount(hours, rate)
    figures = BillingFigures(
        recorded_active_s=terms["evidence"],
        idle_removed_s=terms["idle"],
        idle_kept_s=terms["idle_kept"],
        manual_added_s=terms["manual"],
        excluded_s=terms["excluded"],
        rounding_delta_s=terms["billable"] - terms["pre"],
        billable_s=terms["billable"],
        hours=str(hours),
        rate=str(rate),
        currency=currency,
        amount=str(amount),
        rounding=rounding,
        rounding_minutes=rounding_minutes,
        per_day=per_day,
    )
    return combine(figures, [lk.figures for lk in inside if lk.figures is not None])


def combine(first: BillingFigures, others: Sequence[BillingFigures]) -> BillingFigures:
    """Figures added together (each part keeps its own rounding; hours and amounts sum)."""
    if not others:
        return first
    parts = [first, *others]
    per_day: dict[str, float] = {}
    for part in parts:
        for day, seconds in part.per_day.items():
            per_day[day] = per_day.get(day, 0.0) + seconds

    def total(name: str) -> float:
        return float(sum(getattr(p, name) for p in parts))

    return msgspec.structs.replace(
        first,
        recorded_active_s=total("recorded_active_s"),
        idle_removed_s=total("idle_removed_s"),
        idle_kept_s=total("idle_kept_s"),
        manual_added_s=total("manual_added_s"),
        excluded_s=total("excluded_s"),
        rounding_delta_s=total("rounding_delta_s"),
        billable_s=total("billable_s"),
        hours=str(sum((Decimal(p.hours) for p in parts), Decimal(0))),
        amount=str(sum((Decimal(p.amount) for p in parts), Decimal(0))),
        per_day=dict(sorted(per_day.items())),
    )


def identity_holds(f: BillingFigures) -> bool:
    """The identity of ``BillingFigures``' docstring, evaluated as written."""
    return (
        f.recorded_active_s
        - f.idle_removed_s
        + f.idle_kept_s
        + f.manual_added_s
        - f.excluded_s
        + f.rounding_delta_s
        == f.billable_s
    )


def inputs_hash(
    timeline: ReviewedTimeline,
    settings: ReviewSettings,
    *,
    client_id: str,
    project: str | None,
    start: datetime,
    end: datetime,
    rate: Decimal,
    currency: str,
    rounding: RoundingMode,
    rounding_minutes: int,
) -> str:
    """sha256 of what the figures were derived from: the range, the zone, the evidence
    seqs, the rules and adjustments that produced the client's segments, and the terms."""
    lo, hi = to_epoch(start), to_epoch(end)
    seqs: set[int] = set()
    rule_ids: set[str] = set()
    adjustment_ids: set[str] = set()
    for seg in (*timeline.segments, *timeline.removed):
        if _scope(seg, client_id, project) and _clip(seg, lo, hi) is not None:
            seqs.update(seg.summary_seqs)
            rule_ids.update(seg.rule_ids)
            adjustment_ids.update(seg.adjustment_ids)
    document = {
        "client_id": client_id,
        "project": project,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": timeline.timezone,
        "evidence_seqs": sorted(seqs),
        "rules": [r for r in settings.rules if r.rule_id in rule_ids],
        "default": settings.default,
        "adjustment_ids": sorted(adjustment_ids),
        "rate": str(parse_rate(rate)),
        "currency": currency,
        "rounding": rounding,
        "rounding_minutes": rounding_minutes,
    }
    return hashlib.sha256(msgspec.json.encode(document, order="sorted")).hexdigest()


__all__ = ["CENT", "billing_figures", "combine", "identity_holds", "inputs_hash", "parse_rate"]
