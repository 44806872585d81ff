"""Builders for review tests: adjustments, invoices and inputs at minute offsets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mimolo.protocol.review import (
    Adjustment,
    AdjustmentKind,
    Assignment,
    BillingFigures,
    InvoiceEntry,
    ReviewSettings,
    Rule,
)
from mimolo.timeline.review import ReviewInputs

from ._builders import at

CREATED = datetime(2026, 3, 10, 12, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def adj(
    seq: int,
    kind: AdjustmentKind,
    start_min: float | None = None,
    end_min: float | None = None,
    *,
    client: str | None = None,
    project: str | None = None,
    tags: tuple[str, ...] = (),
    split_min: float | None = None,
    revokes: str | None = None,
    created: datetime | None = None,
) -> Adjustment:
    return Adjustment(
        id=f"adj{seq:04d}",
        seq=seq,
        kind=kind,
        reason="test",
        author="tester",
        created_at=created or CREATED + timedelta(seconds=seq),
        start=None if start_min is None else at(start_min),
        end=None if end_min is None else at(end_min),
        assign=Assignment(client_id=client, project=project, tags=tags),
        split_at=None if split_min is None else at(split_min),
        revokes=revokes,
    )


def issued(
    seq: int,
    client: str,
    start: datetime,
    end: datetime,
    figures: BillingFigures,
    *,
    project: str | None = None,
    created: datetime | None = None,
) -> InvoiceEntry:
    return InvoiceEntry(
        id=f"inv{seq:04d}",
        seq=seq,
        kind="issued",
        author="tester",
        created_at=created or CREATED + timedelta(days=1, seconds=seq),
        number=f"2026-{seq:04d}",
        year=2026,
        client_id=client,
        project=project,
        start=start,
        end=end,
        figures=figures,
    )


def voided(seq: int, target: str) -> InvoiceEntry:
    return InvoiceEntry(
        id=f"void{seq:04d}",
        seq=seq,
        kind="voided",
        author="tester",
        created_at=CREATED + timedelta(days=2, seconds=seq),
        reason="wrong rate",
        voids=target,
    )


def inputs(
    *,
    rules: Sequence[Rule] = (),
    default: Assignment | None = None,
    adjustments: Sequence[Adjustment] = (),
    invoices: Sequence[InvoiceEntry] = (),
    tz: ZoneInfo = UTC_ZONE,
) -> ReviewInputs:
    return ReviewInputs(
        tz=tz,
        settings=ReviewSettings(rules=tuple(rules), default=default or Assignment()),
        adjustments=tuple(adjustments),
        invoices=tuple(invoices),
    )
