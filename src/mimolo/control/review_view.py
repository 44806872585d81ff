"""What the timeline's review panel shows, as plain rows: pure, reviewed timeline in.

Each segment row names the evidence (ledger seqs), rules and adjustments that produced it;
each adjustment row says whether it is in force or revoked (by which entry, why) and
whether a locked period stops it from being revoked; each idle gap says how it was
decided. Local times are in the page's zone; the forms get exact UTC instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Protocol

import msgspec

from mimolo.control.svg_review import IdleGapLike, LockedPeriodLike, ReviewedSegmentLike
from mimolo.protocol.review import Adjustment, ReviewSettings
from mimolo.slugs import is_slug

SEQS_SHOWN = 6

KIND_LABELS: Mapping[str, str] = {
    "manual_entry": "Manual entry",
    "assign_range": "Assigned",
    "exclude_range": "Excluded",
    "idle_keep": "Idle kept",
    "idle_discard": "Idle discarded",
    "idle_split": "Idle split",
    "revoke": "Revoke",
}


class SegmentWithSources(ReviewedSegmentLike, Protocol):
    """A reviewed segment with what produced it (R1's ``ReviewedSegment``)."""

    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def summary_seqs(self) -> Sequence[int]: ...


class LockedWithInvoice(LockedPeriodLike, Protocol):
    @property
    def invoice_id(self) -> str: ...


def local_text(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-07-01 09:30`` in the zone (a dash for none)."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment is not None else "—"


def local_input(moment: datetime, tz: tzinfo) -> str:
    """The value of a ``datetime-local`` input for ``moment`` in the zone."""
    return f"{moment.astimezone(tz):%Y-%m-%dT%H:%M}"


class AdjustmentRef(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    label: str


class SegmentRow(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    start: str
    end: str
    duration_s: float
    client_id: str
    project: str
    tags: list[str]
    source: str
    rule_ids: list[str]
    adjustments: list[AdjustmentRef]
    locked_by: str | None  # the invoice number
    seqs: list[int]
    seq_count: int


class AdjustmentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    seq: int
    kind: str
    label: str
    start: str
    end: str
    split_at: str
    assign: str
    reason: str
    author: str
    created_at: str
    revoked_by: str | None  # the revoking entry's id
    revoke_reason: str
    locked_by: str | None  # the number of an invoice locking its range


class GapRow(msgspec.Struct, frozen=True, kw_only=True):
    start_utc: str
    end_utc: str
    start: str
    end: str
    duration_s: float
    decision: str | None  # the deciding adjustment's kind
    decided_by: str | None
    split_default: str  # a datetime-local value inside the gap
    split_min: str
    split_max: str
    locked_by: str | None


class LockRow(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str
    number: str
    client_id: str
    project: str
    start: str
    end: str
    start_utc: str
    end_utc: str


def _overlaps(start: datetime | None, end: datetime | None, lo: datetime, hi: datetime) -> bool:
    return start is not None and end is not None and start < hi and end > lo


def lock_number(
    start: datetime | None, end: datetime | None, locked: Sequence[LockedPeriodLike]
) -> str | None:
    """The number of the first invoice whose period overlaps ``[start, end)``."""
    for lock in locked:
        if _overlaps(start, end, lock.start, lock.end):
            return lock.number
    return None


def describe_assign(adjustment: Adjustment) -> str:
    """``acme / site-a #call`` for an adjustment's assignment (empty when none)."""
    a = adjustment.assign
    parts = [a.client_id or "", f"/ {a.project}" if a.project else ""]
    parts.extend(f"#{tag}" for tag in a.tags)
    return " ".join(p for p in parts if p)


def adjustment_rows(
    adjustments: Sequence[Adjustment],
    start: datetime,
    end: datetime,
    locked: Sequence[LockedPeriodLike],
    tz: tzinfo,
) -> list[AdjustmentRow]:
    """The adjustments whose range overlaps the view, newest first, with their revocation."""
    revokes = {a.revokes: a for a in adjustments if a.kind == "revoke" and a.revokes}
    rows: list[AdjustmentRow] = []
    for a in sorted(adjustments, key=lambda a: a.seq, reverse=True):
        if a.kind == "revoke" or not _overlaps(a.start, a.end, start, end):
            continue
        revoke = revokes.get(a.id)
        rows.append(
            AdjustmentRow(
                id=a.id, seq=a.seq, kind=a.kind, label=KIND_LABELS.get(a.kind, a.kind),
                start=local_text(a.start, tz), end=local_text(a.end, tz),
                split_at=local_text(a.split_at, tz) if a.split_at else "",
                assign=describe_assign(a), reason=a.reason, author=a.author,
                created_at=local_text(a.created_at, tz),
                revoked_by=revoke.id if revoke else None,
                revoke_reason=revoke.reason if revoke else "",
                locked_by=lock_number(a.start, a.end, locked),
            )
        )  # fmt: skip
    return rows


def segment_rows(
    segments: Sequence[SegmentWithSources],
    adjustments: Sequence[Adjustment],
    locked: Sequence[LockedWithInvoice],
    tz: tzinfo,
) -> list[SegmentRow]:
    """One row per reviewed segment, naming its evidence, rules and adjustments."""
    kinds = {a.id: a.kind for a in adjustments}
    numbers = {lock.invoice_id: lock.number for lock in locked}
    rows: list[SegmentRow] = []
    for index, s in enumerate(segments):
        refs = [
            AdjustmentRef(id=i, kind=kinds.get(i, ""), label=KIND_LABELS.get(kinds.get(i, ""), i))
            for i in s.adjustment_ids
        ]
        rows.append(
            SegmentRow(
                index=index, start=local_text(s.start, tz), end=local_text(s.end, tz),
                duration_s=s.duration_s, client_id=s.client_id or "unassigned",
                project=s.project or "", tags=list(s.tags), source=s.source,
                rule_ids=list(s.rule_ids), adjustments=refs,
                locked_by=numbers.get(s.locked_by, s.locked_by) if s.locked_by else None,
                seqs=list(s.summary_seqs[:SEQS_SHOWN]), seq_count=len(s.summary_seqs),
            )
        )  # fmt: skip
    return rows


def gap_rows(
    gaps: Sequence[IdleGapLike],
    adjustments: Sequence[Adjustment],
    locked: Sequence[LockedPeriodLike],
    tz: tzinfo,
) -> list[GapRow]:
    """The idle gaps, each with its decision (if any) and a split time inside it."""
    kinds = {a.id: a.kind for a in adjustments}
    rows: list[GapRow] = []
    for gap in gaps:
        middle = gap.start + (gap.end - gap.start) / 2
        rows.append(
            GapRow(
                start_utc=gap.start.isoformat(), end_utc=gap.end.isoformat(),
                start=local_text(gap.start, tz), end=local_text(gap.end, tz),
                duration_s=(gap.end - gap.start).total_seconds(),
                decision=kinds.get(gap.decided_by) if gap.decided_by else None,
                decided_by=gap.decided_by, split_default=local_input(middle, tz),
                split_min=local_input(gap.start, tz), split_max=local_input(gap.end, tz),
                locked_by=lock_number(gap.start, gap.end, locked),
            )
        )  # fmt: skip
    return rows


def lock_rows(locked: Sequence[LockedWithInvoice], tz: tzinfo) -> list[LockRow]:
    return [
        LockRow(
            invoice_id=lock.invoice_id, number=lock.number, client_id=lock.client_id,
            project=lock.project or "", start=local_text(lock.start, tz),
            end=local_text(lock.end, tz), start_utc=lock.start.isoformat(),
            end_utc=lock.end.isoformat(),
        )
        for lock in locked
    ]  # fmt: skip


def known_clients(
    settings: ReviewSettings, evidence_clients: Iterable[str], configured: Iterable[str] = ()
) -> list[str]:
    """Clients a person can pick: the billing settings', the rules', the evidence's."""
    names = set(settings.clients) | set(evidence_clients) | set(configured)
    names.update(r.assign.client_id for r in settings.rules if r.assign.client_id)
    if settings.default.client_id:
        names.add(settings.default.client_id)
    return sorted(n for n in names if is_slug(n))


def known_projects(settings: ReviewSettings, seen: Iterable[str] = ()) -> list[str]:
    """Projects a person can pick: the per-project rates, the rules', the timeline's."""
    names = {p for billing in settings.clients.values() for p in billing.projects}
    names.update(r.assign.project for r in settings.rules if r.assign.project)
    if settings.default.project:
        names.add(settings.default.project)
    names.update(seen)
    return sorted(n for n in names if n)


__all__ = [
    "KIND_LABELS",
    "AdjustmentRef",
    "AdjustmentRow",
    "GapRow",
    "LockRow",
    "LockedWithInvoice",
    "SegmentRow",
    "SegmentWithSources",
    "adjustment_rows",
    "describe_assign",
    "gap_rows",
    "known_clients",
    "known_projects",
    "local_input",
    "local_text",
    "lock_number",
    "lock_rows",
    "segment_rows",
]
