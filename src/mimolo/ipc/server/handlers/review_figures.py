"""What the review commands read from the evidence: the clients it names, and an
invoice's figures over the reviewed timeline (evidence → rules → adjustments → locks).

Both run in a worker thread (file I/O); neither writes anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.operations.review_checks import InvoiceDraft
from mimolo.operations.review_journal import ReviewJournal
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.review import BillingFigures
from mimolo.timeline.billing import billing_figures, inputs_hash
from mimolo.timeline.policy import policy_from_config
from mimolo.timeline.query import read_evidence
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.zones import resolve_zone, zone_name


class Computed(msgspec.Struct, frozen=True, kw_only=True):
    """An invoice's figures and what it needs to record beside them."""

    figures: BillingFigures
    inputs_hash: str
    timezone: str
    zone: ZoneInfo


def evidence_clients(data_root: DataRoot, lookback: timedelta) -> set[str]:
    """Client ids the ledger's summaries carry over the last ``lookback``."""
    end = datetime.now(UTC) + timedelta(days=1)
    summaries, _ = read_evidence(data_root, end - lookback, end, cache=None)
    return {s.client_id for s in summaries if s.client_id}


def compute_figures(
    data_root: DataRoot, config: AgentConfig, draft: InvoiceDraft, journal: ReviewJournal
) -> Computed:
    """Billing figures of ``draft`` over the reviewed timeline of its range, with the
    journal's adjustments and invoices as they stand (read cold: Operations keeps no
    evidence cache of its own)."""
    zone = resolve_zone(config.settings.timezone)
    review = config.review
    inputs = ReviewInputs(
        tz=zone,
        settings=review,
        adjustments=list(journal.adjustments),
        invoices=list(journal.invoices),
    )
    timeline = reviewed_timeline(
        data_root,
        draft.start,
        draft.end,
        policy_from_config(data_root)[0],  # as reports read it: the same figures
        inputs,
        client_id=draft.client_id,
        project=draft.project,
        cache=None,
        facts_cache=None,
    )
    terms: dict[str, Any] = {
        "client_id": draft.client_id,
        "project": draft.project,
        "start": draft.start,
        "end": draft.end,
        "rate": draft.rate,
        "currency": draft.currency,
        "rounding": review.rounding,
        "rounding_minutes": review.rounding_minutes,
    }
    return Computed(
        figures=billing_figures(timeline, **terms),
        inputs_hash=inputs_hash(timeline, review, **terms),
        timezone=zone_name(zone),
        zone=zone,
    )


__all__ = ["Computed", "compute_figures", "evidence_clients"]
