"""Plain data of the reviewed timeline: evidence + rules + adjustments + locks (DESIGN §6).

Every segment names what produced it: the ledger records (``summary_seqs``), the rules
that categorized them and the adjustments that changed them; ``locked_by`` names the
invoice that bills it. Days are local days in ``timezone`` (23 to 25 hours long).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, TypeAlias

import msgspec

from mimolo.protocol.review import BillingFigures
from mimolo.timeline.reader import ReadWarning

SegmentSource: TypeAlias = Literal["evidence", "manual", "idle_kept"]
Removal: TypeAlias = Literal["", "excluded", "idle"]


class ReviewedSegment(msgspec.Struct, frozen=True, kw_only=True):
    """A span of reviewed work: ``Segment``'s fields plus its category and provenance.

    ``removed`` is empty for counted work; ``"excluded"`` (an exclude_range) and
    ``"idle"`` (an idle discard) mark time that was taken out (``ReviewedTimeline.removed``),
    kept so the billing derivation can show it.
    """

    start: datetime
    end: datetime
    duration_s: float
    instances: list[str]
    client_ids: list[str]
    summary_count: int
    client_id: str | None
    project: str | None = None
    tags: list[str] = []
    source: SegmentSource = "evidence"
    rule_ids: list[str] = []
    adjustment_ids: list[str] = []
    locked_by: str | None = None
    summary_seqs: list[int] = []
    removed: Removal = ""


class LocalDayTotal(msgspec.Struct, frozen=True, kw_only=True):
    """Work within one local day (``day_length_s``: 82,800 to 90,000 on DST days)."""

    day: date
    duration_s: float
    per_client: dict[str, float]
    day_length_s: float = 86400.0


class IdleGap(msgspec.Struct, frozen=True, kw_only=True):
    """A hole in the day's work longer than the cooldown; ``decided_by`` is the idle
    adjustment (keep / discard / split) that last decided it, ``None`` while undecided
    (undecided gaps stay out, like a discard)."""

    start: datetime
    end: datetime
    decided_by: str | None = None


class LockedPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A client's (or one project's) range billed by an issued, not voided invoice;
    ``figures`` are the invoice's own, as billed."""

    invoice_id: str
    number: str
    client_id: str
    project: str | None
    start: datetime
    end: datetime
    figures: BillingFigures | None = None


class ReviewedTimeline(msgspec.Struct, frozen=True, kw_only=True):
    """Counted segments (sorted by start), the time taken out, totals in local days.

    ``per_client`` keys are client ids or ``unassigned``; ``per_project`` maps a client key
    to its projects' seconds (``""`` for time with no project). Segments of a repeated view
    may share their lists with the day cache's kept pieces: treat them as read-only.
    """

    segments: list[ReviewedSegment]
    per_day: list[LocalDayTotal]
    per_client: dict[str, float]
    per_project: dict[str, dict[str, float]]
    timezone: str
    idle_gaps: list[IdleGap] = []
    locked: list[LockedPeriod] = []
    removed: list[ReviewedSegment] = []
    warnings: list[ReadWarning] = []

    @property
    def total_s(self) -> float:
        return sum(s.duration_s for s in self.segments)


__all__ = [
    "IdleGap",
    "LocalDayTotal",
    "LockedPeriod",
    "Removal",
    "ReviewedSegment",
    "ReviewedTimeline",
    "SegmentSource",
]
