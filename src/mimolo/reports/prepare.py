"""Preparing a report (the edge): settings, journals and evidence → what a reporter gets.

The reviewed timeline is evidence → rules → adjustments → locks in the configured zone;
the billing figures come from it with the settings' rate, currency and rounding (a rate
given for the report wins). Operations' config and the review journals are read, never
written; an issued invoice is reproduced from its journal entry (``mimolo.reports.issued``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.review import BillingFigures
from mimolo.reports.billing_settings import (
    Billing,
    check_client,
    known_clients,
    require_rate,
    resolve_billing,
)
from mimolo.reports.model import LockNote, ReportReview, ReportSegment
from mimolo.timeline.billing import billing_figures, combine
from mimolo.timeline.models import UNASSIGNED, TimelinePolicy
from mimolo.timeline.policy import policy_from_config, read_config
from mimolo.timeline.query import cache_for
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.review_io import read_adjustments, read_invoices
from mimolo.timeline.reviewed import ReviewedSegment, ReviewedTimeline
from mimolo.timeline.zones import resolve_zone


class ReportAsk(msgspec.Struct, frozen=True, kw_only=True):
    """What a caller asks for: a kind, a UTC range and the optional overrides."""

    kind: str
    start: datetime
    end: datetime
    client_id: str | None = None
    project: str | None = None
    rate: str | None = None
    currency: str | None = None
    bill_to: str | None = None
    seller: str | None = None
    cooldown_s: float | None = None


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """A report ready to run: the reporter's params, segments and review, and what the
    evidence pack of an invoice needs (the policy and the window)."""

    params: dict[str, Any]
    segments: list[ReportSegment]
    review: ReportReview
    policy: TimelinePolicy
    window: tuple[datetime, datetime]
    warnings: list[str]


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """Operations' config as a read-only reader sees it, and the policy it gives."""

    config: AgentConfig
    policy: TimelinePolicy
    zone: ZoneInfo
    warnings: list[str]


def load_settings(root: DataRoot, cooldown_s: float | None = None) -> Loaded:
    """The config (leniently: what does not convert is named, not fatal) and its zone."""
    config, config_warnings = read_config(root)
    policy, policy_warnings = policy_from_config(root, cooldown_s=cooldown_s)
    zone = resolve_zone(config.settings.timezone)
    return Loaded(
        config=config,
        policy=policy,
        zone=zone,
        warnings=[*config_warnings, *(w for w in policy_warnings if w not in config_warnings)],
    )


def review_inputs(root: DataRoot, loaded: Loaded) -> ReviewInputs:
    """The zone, review settings and both journals, read without Operations."""
    return ReviewInputs(
        tz=loaded.zone,
        settings=loaded.config.review,
        adjustments=read_adjustments(root),
        invoices=read_invoices(root),
    )


def reviewed(
    root: DataRoot, ask: ReportAsk, loaded: Loaded, inputs: ReviewInputs | None = None
) -> ReviewedTimeline:
    """The reviewed timeline of the ask's range (of its client and project, if given)."""
    return reviewed_timeline(
        root,
        ask.start,
        ask.end,
        loaded.policy,
        inputs or review_inputs(root, loaded),
        client_id=ask.client_id,
        project=ask.project,
        cache=cache_for(root),
    )


def report_segments(timeline: ReviewedTimeline) -> list[ReportSegment]:
    """The reviewed segments as reporters read them (``locked_by``: the invoice number)."""
    numbers = {lock.invoice_id: lock.number for lock in timeline.locked}
    return [
        ReportSegment(
            start=s.start,
            end=s.end,
            duration_s=s.duration_s,
            instances=list(s.instances),
            client_ids=list(s.client_ids),
            summary_count=s.summary_count,
            client_id=s.client_id,
            project=s.project,
            tags=list(s.tags),
            source=s.source,
            rule_ids=list(s.rule_ids),
            adjustment_ids=list(s.adjustment_ids),
            locked_by=numbers.get(s.locked_by, s.locked_by) if s.locked_by else None,
        )
        for s in timeline.segments
    ]


def lock_notes(timeline: ReviewedTimeline) -> list[LockNote]:
    return [
        LockNote(
            invoice_id=lock.invoice_id,
            number=lock.number,
            client_id=lock.client_id,
            project=lock.project,
            start=lock.start,
            end=lock.end,
        )
        for lock in timeline.locked
    ]


def _unassigned_as_key(timeline: ReviewedTimeline) -> ReviewedTimeline:
    """Work no client claims under the ``unassigned`` key, so it is billed like a client's
    (a timecard of all clients shows every second of it)."""

    def keyed(segs: list[ReviewedSegment]) -> list[ReviewedSegment]:
        return [
            s if s.client_id else msgspec.structs.replace(s, client_id=UNASSIGNED) for s in segs
        ]

    return msgspec.structs.replace(
        timeline, segments=keyed(timeline.segments), removed=keyed(timeline.removed)
    )


def figures_for(
    timeline: ReviewedTimeline,
    ask: ReportAsk,
    loaded: Loaded,
    inputs: ReviewInputs,
    rate: Decimal,
    currency: str,
) -> BillingFigures:
    """The billing figures of the ask: one client's, or every client's added together
    (each with its own rounding). Issued invoices inside the range count as issued."""
    review = loaded.config.review

    def of(view: ReviewedTimeline, client_id: str) -> BillingFigures:
        return billing_figures(
            view,
            client_id=client_id,
            project=ask.project,
            start=ask.start,
            end=ask.end,
            rate=rate,
            currency=currency,
            rounding=review.rounding,
            rounding_minutes=review.rounding_minutes,
        )

    if ask.client_id is not None:
        return of(timeline, ask.client_id)
    view = _unassigned_as_key(timeline)
    clients = sorted({s.client_id or UNASSIGNED for s in (*view.segments, *view.removed)})
    parts = [of(view, c) for c in clients] or [of(view, UNASSIGNED)]
    return combine(parts[0], parts[1:])


def _flat_projects(timeline: ReviewedTimeline) -> dict[str, float]:
    """``client/project`` (``client (no project)`` for the rest) to seconds."""
    out: dict[str, float] = {}
    for client, projects in timeline.per_project.items():
        for project, seconds in projects.items():
            out[f"{client}/{project}" if project else f"{client} (no project)"] = seconds
    return out


def base_params(ask: ReportAsk, zone_name: str, billing: Billing) -> dict[str, Any]:
    """The reporter's params that the range, client and billing give."""
    params: dict[str, Any] = {
        "from": ask.start.astimezone(UTC).isoformat(),
        "to": ask.end.astimezone(UTC).isoformat(),
        "timezone": zone_name,
        "client_id": ask.client_id,
        "project": ask.project,
        "currency": billing.currency,
        "bill_to": billing.bill_to or None,
        "issuer": billing.seller or None,
    }
    if billing.rate is not None:
        params["rate"] = str(billing.rate)
    return params


def prepare_report(root: DataRoot, ask: ReportAsk) -> Prepared:
    """Everything a timecard, CSV or draft invoice of ``ask`` needs (nothing is recorded)."""
    loaded = load_settings(root, ask.cooldown_s)
    inputs = review_inputs(root, loaded)
    timeline = reviewed(root, ask, loaded, inputs)
    review_settings = loaded.config.review
    known = known_clients(
        review_settings, loaded.policy.client_of_instance.values(), timeline.per_client
    )
    check_client(ask.client_id, known, timeline.per_client)
    billing = resolve_billing(
        review_settings,
        ask.client_id,
        ask.project,
        rate=ask.rate,
        currency=ask.currency,
        bill_to=ask.bill_to,
        seller=ask.seller,
    )
    rate = require_rate(billing, ask.client_id) if ask.kind == "invoice" else billing.rate
    figures = figures_for(timeline, ask, loaded, inputs, rate or Decimal(0), billing.currency)
    review = ReportReview(
        timezone=timeline.timezone,
        figures=figures,
        per_client=dict(timeline.per_client),
        per_project=_flat_projects(timeline),
        locked=lock_notes(timeline),
        status="draft",
    )
    return Prepared(
        params=base_params(ask, timeline.timezone, billing),
        segments=report_segments(timeline),
        review=review,
        policy=loaded.policy,
        window=(ask.start, ask.end),
        warnings=[*loaded.warnings, *(str(w) for w in timeline.warnings)],
    )


__all__ = [
    "Loaded",
    "Prepared",
    "ReportAsk",
    "load_settings",
    "prepare_report",
    "report_segments",
    "review_inputs",
    "reviewed",
]
