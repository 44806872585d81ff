"""CPU budgets and health classification (DESIGN §4). Pure functions over plain numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import msgspec

Classification = Literal["healthy", "degraded", "over_budget", "quarantined", "unknown"]


class BudgetPlan(msgspec.Struct, frozen=True):
    """Effective per-instance budgets, and whether they had to be scaled into the envelope."""

    budgets: dict[str, float]
    scale: float
    requested_total: float


def effective_budgets(
    requests: Mapping[str, float | None],
    *,
    default_percent: float,
    max_percent: float,
    envelope_percent: float,
    ops_percent: float,
) -> BudgetPlan:
    """min(request or default, max) per instance, scaled down if the sum + Operations exceeds
    the envelope."""
    base = {
        iid: min(req if req is not None else default_percent, max_percent)
        for iid, req in requests.items()
    }
    total = sum(base.values())
    room = max(0.0, envelope_percent - ops_percent)
    scale = 1.0
    if total > 0 and total > room:
        scale = room / total
    budgets = {iid: round(value * scale, 4) for iid, value in base.items()}
    return BudgetPlan(budgets=budgets, scale=scale, requested_total=total)


class Measurement(msgspec.Struct, frozen=True, kw_only=True):
    """What Operations knows about a running agent right now."""

    cpu_percent: float | None
    budget_percent: float
    heartbeat_age_s: float | None
    heartbeat_interval_s: float
    agent_health: str | None
    over_budget_samples: int = 0


OVER_BUDGET_SAMPLES = 3  # consecutive samples over budget before classifying over_budget


def classify(m: Measurement, *, quarantined: bool = False) -> Classification:
    """healthy / degraded / over_budget / quarantined from measurements and the agent's word."""
    if quarantined:
        return "quarantined"
    if m.over_budget_samples >= OVER_BUDGET_SAMPLES:
        return "over_budget"
    if m.heartbeat_age_s is not None and m.heartbeat_age_s > 2 * m.heartbeat_interval_s:
        return "degraded"
    if m.agent_health in ("degraded", "overload", "failed"):
        return "degraded"
    if m.heartbeat_age_s is None:
        return "unknown"
    return "healthy"


def over_budget(cpu_percent: float | None, budget_percent: float) -> bool:
    """One sample over budget (NaN and missing measurements never count)."""
    return cpu_percent is not None and not math.isnan(cpu_percent) and cpu_percent > budget_percent


__all__ = [
    "OVER_BUDGET_SAMPLES",
    "BudgetPlan",
    "Classification",
    "Measurement",
    "classify",
    "effective_budgets",
    "over_budget",
]
