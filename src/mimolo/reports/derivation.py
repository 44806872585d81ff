"""Billing that shows its workings: the derivation rows and invoice lines that add up.

A document prints how its billable hours were derived (recorded active time, idle removed,
idle kept, manual additions, exclusions, rounding) from one ``BillingFigures``, and refuses
figures whose identity does not hold. Invoice lines split the billed hours and amount over
the local days so that the lines always sum exactly to the totals printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from mimolo.errors import ReportError
from mimolo.protocol.review import BillingFigures

CENT = Decimal("0.01")
SECOND = Decimal(1)
IDENTITY_TOLERANCE_S = 1e-3
"""Float seconds may differ in their last bits; a millisecond is far below what is billed."""


class DerivationRow(msgspec.Struct, frozen=True, kw_only=True):
    """One step of the derivation. ``seconds`` is exact; ``shown_s`` is the whole seconds
    it contributes as printed (signed), settled so that the printed steps sum exactly to
    the printed billable time."""

    key: str
    label: str
    sign: str  # "+", "-", "±" (rounding) or "=" (the result)
    seconds: float
    shown_s: int

    @property
    def mark(self) -> str:
        """How the printed step enters the sum: plus, a minus sign (U+2212) or ``=``."""
        if self.sign == "=":
            return "="
        negative = self.shown_s < 0 or (self.shown_s == 0 and self.sign == "-")
        return "\u2212" if negative else "+"


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    hours: Decimal
    amount: Decimal


def identity_gap(f: BillingFigures) -> float:
    """How far the figures are from adding up (0 when the identity holds)."""
    derived = (
        f.recorded_active_s
        - f.idle_removed_s
        + f.idle_kept_s
        + f.manual_added_s
        - f.excluded_s
        + f.rounding_delta_s
    )
    return abs(derived - f.billable_s)


def check_figures(f: BillingFigures) -> None:
    """Refuse figures that do not add up (``report_figures_inconsistent``)."""
    gap = identity_gap(f)
    if gap > IDENTITY_TOLERANCE_S:
        raise ReportError(
            f"the billing figures do not add up (off by {gap:.3f} s)",
            code="report_figures_inconsistent",
        )


def rounding_label(f: BillingFigures) -> str:
    if f.rounding == "none":
        return "Rounding (none)"
    unit = {"entry": "each entry", "day": "each day", "invoice": "the total"}[f.rounding]
    return f"Rounding ({unit} up to {f.rounding_minutes} min)"


_STEPS = (
    ("recorded", "Recorded active time", "+"),
    ("idle_removed", "Idle removed", "-"),
    ("idle_kept", "Idle kept", "+"),
    ("manual", "Manual additions", "+"),
    ("excluded", "Exclusions", "-"),
    ("rounding", "", "±"),
)


def derivation_rows(f: BillingFigures) -> list[DerivationRow]:
    """The steps from recorded time to billable time, in the order they are applied."""
    signed = [
        f.recorded_active_s,
        -f.idle_removed_s,
        f.idle_kept_s,
        f.manual_added_s,
        -f.excluded_s,
        f.rounding_delta_s,
    ]
    exact = [Decimal(repr(v)) for v in signed]
    total = Decimal(repr(f.billable_s)).quantize(SECOND, rounding=ROUND_HALF_UP)
    first = [v.quantize(SECOND, rounding=ROUND_HALF_UP) for v in exact]
    moving = [i for i, v in enumerate(exact) if v != 0]  # a zero step stays zero
    settled = settle([first[i] for i in moving], [exact[i] for i in moving], total, SECOND)
    shown = list(first)
    for i, value in zip(moving, settled, strict=True):
        shown[i] = value
    rows = [
        DerivationRow(
            key=key,
            label=label or rounding_label(f),
            sign=sign,
            seconds=abs(value),
            shown_s=int(show),
        )
        for (key, label, sign), value, show in zip(_STEPS, signed, shown, strict=True)
    ]
    rows.append(
        DerivationRow(
            key="billable", label="Billable time", sign="=", seconds=f.billable_s,
            shown_s=int(total),
        )
    )  # fmt: skip
    return rows


def hours_of(seconds: float) -> Decimal:
    """Decimal hours of a duration, half up to 0.01 h."""
    return (Decimal(repr(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def settle(
    first: Sequence[Decimal], exact: Sequence[Decimal], total: Decimal, unit: Decimal = CENT
) -> list[Decimal]:
    """Move whole units so the rounded ``first`` sums to ``total``: onto the values rounded
    down the most when short, off those rounded up the most when over (largest remainder)."""
    out = list(first)
    units = int(((total - sum(out, Decimal(0))) / unit).to_integral_value())
    if units == 0 or not out:
        return out
    step, direction = (unit, 1) if units > 0 else (-unit, -1)
    order = sorted(range(len(out)), key=lambda i: (exact[i] - out[i]) * direction, reverse=True)
    for n in range(abs(units)):
        out[order[n % len(order)]] += step
    return out


def invoice_lines(f: BillingFigures, rate: Decimal) -> list[InvoiceLine]:
    """One line per local day with billable time; hours and amounts sum to the figures'.

    Each line starts at its own day's hours (0.01 h, half up) and hours times rate (0.01); any
    difference from the billed totals (rounding per invoice, or the total's own rounding) is
    settled in cents on the lines whose rounding was furthest off.
    """
    days = sorted((date.fromisoformat(d), s) for d, s in f.per_day.items() if s > 0)
    total_hours, total_amount = Decimal(f.hours), Decimal(f.amount)
    if not days and (total_hours or total_amount):
        # rounding alone made the bill (sub-second work rounded up per invoice): one line,
        # on the last day the figures list
        days = sorted((date.fromisoformat(d), s) for d, s in f.per_day.items())[-1:]
    if not days:
        if total_hours == 0 and total_amount == 0:
            return []
        raise ReportError(
            "billed hours but no day to bill them on", code="report_figures_inconsistent"
        )
    exact_h = [Decimal(repr(s)) / 3600 for _, s in days]
    scale = total_hours / sum(exact_h, Decimal(0)) if sum(exact_h, Decimal(0)) else Decimal(1)
    hours = settle([hours_of(s) for _, s in days], [h * scale for h in exact_h], total_hours)
    exact_a = [h * rate for h in hours]
    amounts = settle(
        [a.quantize(CENT, rounding=ROUND_HALF_UP) for a in exact_a], exact_a, total_amount
    )
    return [
        InvoiceLine(day=day, hours=h, amount=a)
        for (day, _), h, a in zip(days, hours, amounts, strict=True)
    ]


def plain_figures(
    day_seconds: Sequence[tuple[date, float]], rate: Decimal, currency: str
) -> BillingFigures:
    """Figures of plain evidence (no review layer): each day's hours to 0.01 h, amounts to
    0.01, totals their sums, as invoices were before the review layer and as evidence-pack
    verifiers recompute them."""
    hours = [hours_of(s) for _, s in day_seconds]
    amounts = [(h * rate).quantize(CENT, rounding=ROUND_HALF_UP) for h in hours]
    total_s = sum(s for _, s in day_seconds)
    return BillingFigures(
        recorded_active_s=total_s,
        idle_removed_s=0.0,
        idle_kept_s=0.0,
        manual_added_s=0.0,
        excluded_s=0.0,
        rounding_delta_s=0.0,
        billable_s=total_s,
        hours=str(sum(hours, Decimal("0.00"))),
        rate=str(rate),
        currency=currency,
        amount=str(sum(amounts, Decimal("0.00"))),
        rounding="none",
        rounding_minutes=0,
        per_day={d.isoformat(): s for d, s in day_seconds},
    )


__all__ = [
    "CENT",
    "DerivationRow",
    "InvoiceLine",
    "check_figures",
    "derivation_rows",
    "hours_of",
    "identity_gap",
    "invoice_lines",
    "plain_figures",
    "rounding_label",
    "settle",
]
