"""What a reporter receives beyond its parameters: reviewed segments and the derivation.

Control and the CLI prepare these (``mimolo.reports.prepare``) from the reviewed timeline
(evidence → rules → adjustments → locks); reporters only lay them out. A request without
``review`` (a plain list of derived segments, as third-party callers send) is reported as
evidence only, in UTC, with no rounding: exactly what reports gave before the review layer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias

import msgspec

from mimolo.protocol.review import BillingFigures
from mimolo.timeline.models import Segment

SegmentSource: TypeAlias = Literal["evidence", "manual", "idle_kept"]
InvoiceStatus: TypeAlias = Literal["draft", "issued"]


class ReportSegment(Segment, frozen=True, kw_only=True):
    """A derived segment and what produced it (a plain ``Segment`` decodes as evidence)."""

    client_id: str | None = None
    project: str | None = None
    tags: list[str] = []
    source: SegmentSource = "evidence"
    rule_ids: list[str] = []
    adjustment_ids: list[str] = []
    locked_by: str | None = None  # the issued invoice's number whose figures hold here


def as_report_segment(segment: Segment) -> ReportSegment:
    """A plain derived segment as a reviewed one (evidence, no rules or adjustments)."""
    if isinstance(segment, ReportSegment):
        return segment
    return ReportSegment(**msgspec.structs.asdict(segment))


class LockNote(msgspec.Struct, frozen=True, kw_only=True):
    """An issued invoice that freezes part of the report's range."""

    invoice_id: str
    number: str
    client_id: str
    project: str | None
    start: datetime
    end: datetime


class IssuedNote(msgspec.Struct, frozen=True, kw_only=True):
    """The issued invoice a document reproduces (its figures come from the entry)."""

    invoice_id: str
    number: str
    issued_at: datetime
    inputs_hash: str


class ReportReview(msgspec.Struct, frozen=True, kw_only=True):
    """The reviewed side of a report: its zone, its figures and the locks it met."""

    timezone: str = "UTC"
    figures: BillingFigures | None = None
    per_client: dict[str, float] = {}
    per_project: dict[str, float] = {}
    locked: list[LockNote] = []
    status: InvoiceStatus = "draft"
    issued: IssuedNote | None = None


__all__ = [
    "InvoiceStatus",
    "IssuedNote",
    "LockNote",
    "ReportReview",
    "ReportSegment",
    "SegmentSource",
    "as_report_segment",
]
