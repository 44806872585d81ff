"""The billing rounding rule, in one place for MiMoLo and for evidence-pack verifiers.

Standard library only (no MiMoLo imports): ``mimolo.timeline.billing`` uses it to bill,
and every evidence pack ships it verbatim in ``verify/`` so a recipient recomputes billable
time with the very same code. Seconds are whole numbers (exact in a float); rounding goes
up to a unit of seconds per entry, per local day or once per invoice; hours are billed to
the hundredth (half up) and amounts are hours times rate to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ROUNDING_MODES = ("none", "entry", "day", "invoice")
_HOUR = Decimal(3600)


def round_up(seconds: float, unit: int) -> int:
    """Up to the next multiple of ``unit`` seconds (milliseconds of float noise ignored);
    ``unit <= 0`` rounds to the nearest whole second."""
    exact = round(seconds, 3)
    if unit <= 0:
        return round(exact)
    return math.ceil(exact / unit) * unit


def whole_terms(sums: Mapping[str, float]) -> dict[str, float]:
    """Each term of the derivation as whole seconds."""
    return {k: float(round(v)) for k, v in sums.items()}


def pre_rounding(terms: Mapping[str, float]) -> float:
    """Billable seconds before rounding: evidence - idle + kept idle + manual - excluded."""
    return (terms["evidence"] - terms["idle"] + terms["idle_kept"] + terms["manual"]) - terms[
        "excluded"
    ]


def apply_rounding(
    entries: Sequence[tuple[str, float]], pre: float, rounding: str, unit: int
) -> tuple[float, dict[str, float]]:
    """Billable seconds and billable seconds per local day.

    ``entries`` are the counted entries in order, each ``(local day of its start, exact
    seconds)``; ``pre`` is :func:`pre_rounding` of the terms; ``unit`` is in seconds.
    """
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}")
    day_exact: dict[str, float] = {}
    day_rounded: dict[str, float] = {}
    for day, seconds in entries:
        day_exact[day] = day_exact.get(day, 0.0) + seconds
        if rounding == "entry":
            day_rounded[day] = day_rounded.get(day, 0.0) + round_up(seconds, unit)
    if rounding == "entry":
        billable = float(sum(round_up(seconds, unit) for _, seconds in entries))
        per_day = day_rounded
    elif rounding == "day":
        per_day = {d: float(round_up(s, unit)) for d, s in day_exact.items()}
        billable = float(sum(per_day.values()))
    elif rounding == "invoice":
        # up from the counted entries themselves, not from the whole-second terms: terms
        # rounded one by one can leave a second where every entry was excluded
        counted = sum(seconds for _, seconds in entries)
        billable = float(round_up(counted, unit)) if counted > 0 else 0.0
        per_day = {d: float(round(s)) for d, s in day_exact.items()}
    else:
        billable = pre
        per_day = {d: float(round(s)) for d, s in day_exact.items()}
    return billable, dict(sorted(per_day.items()))


def billed_hours(billable_s: float) -> Decimal:
    """Hours as billed: whole seconds over 3600, half up to 0.01 h."""
    return (Decimal(int(billable_s)) / _HOUR).quantize(CENT, rounding=ROUND_HALF_UP)


def billed_amount(hours: Decimal, rate: Decimal) -> Decimal:
    """The amount as billed: hours times rate, half up to the cent."""
    return (hours * rate).quantize(CENT, rounding=ROUND_HALF_UP)


__all__ = [
    "CENT",
    "ROUNDING_MODES",
    "apply_rounding",
    "billed_amount",
    "billed_hours",
    "pre_rounding",
    "round_up",
    "whole_terms",
]
