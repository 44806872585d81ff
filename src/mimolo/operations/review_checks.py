"""What the review journal accepts, decided against its current state (pure, DESIGN §6).

An adjustment or invoice request is checked before anything is written: ranges run
forward, a split lies inside its gap, clients are known, manual entries and idle decisions
do not overlap their own kind, and nothing reaches into a period an issued invoice bills
(``period_locked`` names the invoice; void it first). Each refusal has its own code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from mimolo.errors import (
    AdjustmentInvalid,
    AdjustmentUnknown,
    ConfigError,
    InvoiceInvalid,
    InvoiceUnknown,
    PeriodLocked,
)
from mimolo.operations.review_config import check_assignment, check_currency, check_rate
from mimolo.protocol.review import (
    Adjustment,
    AdjustmentKind,
    Assignment,
    InvoiceEntry,
    ReviewSettings,
    configured_rate,
)
from mimolo.slugs import is_slug

REASON_MAX = 500
RANGED_KINDS: frozenset[AdjustmentKind] = frozenset(
    {"manual_entry", "assign_range", "exclude_range", "idle_keep", "idle_discard", "idle_split"}
)
IDLE_KINDS: frozenset[AdjustmentKind] = frozenset({"idle_keep", "idle_discard", "idle_split"})
_ASSIGNING: frozenset[AdjustmentKind] = frozenset({"manual_entry", "assign_range"})


class AdjustmentDraft(msgspec.Struct, kw_only=True, frozen=True):
    """A requested adjustment before Operations gives it an id, a seq, an author, a time."""

    kind: AdjustmentKind
    reason: str
    start: datetime | None = None
    end: datetime | None = None
    assign: Assignment = Assignment()
    split_at: datetime | None = None


class InvoiceDraft(msgspec.Struct, kw_only=True, frozen=True):
    """A requested invoice with its rate and currency resolved from the settings."""

    client_id: str
    project: str | None
    start: datetime
    end: datetime
    rate: Decimal
    currency: str


def check_reason(reason: str, error: type[AdjustmentInvalid | InvoiceInvalid]) -> str:
    """A reason is required, printable and short; returned stripped."""
    text = reason.strip()
    if not text or len(text) > REASON_MAX or not text.isprintable():
        raise error(f"a reason of 1-{REASON_MAX} printable characters is required", field="reason")
    return text


def known_clients(settings: ReviewSettings, instance_clients: Iterable[str]) -> set[str]:
    """Clients the config names: billing entries, rule and default assignments, instances."""
    found = set(settings.clients) | set(instance_clients)
    found |= {r.assign.client_id for r in settings.rules if r.assign.client_id}
    if settings.default.client_id:
        found.add(settings.default.client_id)
    return found


def revoked_by(adjustments: Iterable[Adjustment]) -> dict[str, str]:
    """Adjustment id -> the id of the ``revoke`` that undid it."""
    return {a.revokes: a.id for a in adjustments if a.kind == "revoke" and a.revokes}


def active_locks(invoices: Iterable[InvoiceEntry]) -> list[InvoiceEntry]:
    """Issued entries that no later ``voided`` entry lifts, in journal order."""
    entries = list(invoices)
    voided = {e.voids for e in entries if e.kind == "voided"}
    return [e for e in entries if e.kind == "issued" and e.id not in voided]


def _overlaps(a0: datetime, a1: datetime, b0: datetime | None, b1: datetime | None) -> bool:
    return b0 is not None and b1 is not None and a0 < b1 and b0 < a1


def _span(lock: InvoiceEntry) -> str:
    assert lock.start is not None and lock.end is not None
    scope = lock.client_id + (f"/{lock.project}" if lock.project else "")
    return f"{scope}, {lock.start.isoformat()} to {lock.end.isoformat()}"


def locked(message: str, lock: InvoiceEntry) -> PeriodLocked:
    return PeriodLocked(
        f"{message}: invoice {lock.number} ({_span(lock)}) bills it; void it first",
        field="start",
    )


def locking_invoice(
    kind: AdjustmentKind,
    start: datetime,
    end: datetime,
    assign: Assignment,
    locks: Sequence[InvoiceEntry],
    default: Assignment,
) -> InvoiceEntry | None:
    """The issued invoice an adjustment would change, if any.

    A manual entry only adds time to its own client, so it reaches a lock of that client
    (and project) alone; every other kind can move time into or out of any client.
    """
    for lock in locks:
        if not _overlaps(start, end, lock.start, lock.end):
            continue
        if kind != "manual_entry":
            return lock
        client = assign.client_id or default.client_id
        project = assign.project if assign.client_id else (assign.project or default.project)
        if client == lock.client_id and (lock.project is None or lock.project == project):
            return lock
    return None


def _ranged(draft: AdjustmentDraft) -> tuple[datetime, datetime]:
    if draft.start is None or draft.end is None:
        missing = "start" if draft.start is None else "end"
        raise AdjustmentInvalid(f"{draft.kind} needs start and end", field=missing)
    for name, value in (("start", draft.start), ("end", draft.end)):
        if value.tzinfo is None:
            raise AdjustmentInvalid("must carry a time zone (UTC: a trailing Z)", field=name)
    if draft.end <= draft.start:
        raise AdjustmentInvalid(
            f"the range is inverted or empty: end {draft.end.isoformat()} is not after "
            f"start {draft.start.isoformat()}",
            field="end",
        )
    return draft.start, draft.end


def _check_shape(draft: AdjustmentDraft, start: datetime, end: datetime) -> None:
    if draft.kind == "idle_split":
        at = draft.split_at
        if at is None:
            raise AdjustmentInvalid("idle_split needs split_at", field="split_at")
        if at.tzinfo is None or not start < at < end:
            raise AdjustmentInvalid(
                "split_at must lie strictly inside the idle gap [start, end)", field="split_at"
            )
    elif draft.split_at is not None:
        raise AdjustmentInvalid("split_at is for idle_split only", field="split_at")
    empty = draft.assign == Assignment()
    if draft.kind not in _ASSIGNING and not empty:
        raise AdjustmentInvalid(f"{draft.kind} takes no assignment", field="assign")
    if draft.kind == "assign_range" and empty:
        raise AdjustmentInvalid("assign_range needs a client, project or tags", field="assign")
    try:
        check_assignment(draft.assign, "assign")
    except ConfigError as exc:
        raise AdjustmentInvalid(exc.message.split(": ", 1)[-1], field=exc.field) from None


def _same_kind_overlap(
    draft: AdjustmentDraft, start: datetime, end: datetime, live: Sequence[Adjustment]
) -> Adjustment | None:
    """A live manual entry under a new one, or a live idle decision under a new one."""
    group = {"manual_entry"} if draft.kind == "manual_entry" else IDLE_KINDS
    if draft.kind not in group:
        return None
    for other in live:
        if other.kind in group and _overlaps(start, end, other.start, other.end):
            return other
    return None


def check_adjustment(
    draft: AdjustmentDraft,
    adjustments: Sequence[Adjustment],
    locks: Sequence[InvoiceEntry],
    settings: ReviewSettings,
    is_known_client: Callable[[str], bool],
) -> None:
    """Refuse ``draft`` with its own code if the journal must not take it."""
    if draft.kind not in RANGED_KINDS:
        raise AdjustmentInvalid("use revoke_adjustment to revoke", field="kind")
    check_reason(draft.reason, AdjustmentInvalid)
    start, end = _ranged(draft)
    _check_shape(draft, start, end)
    client = draft.assign.client_id
    if client is not None and not is_known_client(client):
        raise AdjustmentInvalid(
            f"unknown client {client!r} (known: review.clients, rule assignments, "
            "instances, evidence)",
            field="assign.client_id",
        )
    gone = revoked_by(adjustments)
    live = [a for a in adjustments if a.kind != "revoke" and a.id not in gone]
    clash = _same_kind_overlap(draft, start, end, live)
    if clash is not None:
        raise AdjustmentInvalid(
            f"overlaps {clash.kind} {clash.id} ({clash.start} to {clash.end}); revoke it first",
            field="start",
        )
    lock = locking_invoice(draft.kind, start, end, draft.assign, locks, settings.default)
    if lock is not None:
        raise locked("the range is locked", lock)


def check_revoke(
    target_id: str,
    reason: str,
    adjustments: Sequence[Adjustment],
    locks: Sequence[InvoiceEntry],
    settings: ReviewSettings,
) -> Adjustment:
    """The adjustment a revoke may undo (unknown, a revoke, already revoked: refused)."""
    check_reason(reason, AdjustmentInvalid)
    target = next((a for a in adjustments if a.id == target_id), None)
    if target is None:
        raise AdjustmentUnknown(f"no adjustment {target_id!r}", field="id")
    if target.kind == "revoke":
        raise AdjustmentInvalid("a revoke cannot be revoked; add the adjustment again", field="id")
    by = revoked_by(adjustments).get(target_id)
    if by is not None:
        raise AdjustmentInvalid(f"{target_id} is already revoked (by {by})", field="id")
    assert target.start is not None and target.end is not None
    lock = locking_invoice(
        target.kind, target.start, target.end, target.assign, locks, settings.default
    )
    if lock is not None:
        raise locked("the adjustment lies in a locked period", lock)
    return target


def check_invoice(
    *,
    client_id: str,
    project: str | None,
    start: datetime,
    end: datetime,
    rate: str | None,
    currency: str | None,
    locks: Sequence[InvoiceEntry],
    settings: ReviewSettings,
    is_known_client: Callable[[str], bool],
) -> InvoiceDraft:
    """A checked invoice request (rate and currency resolved), or its refusal."""
    if not is_slug(client_id):
        raise InvoiceInvalid(f"{client_id!r} is not a client id", field="client_id")
    if not is_known_client(client_id):
        raise InvoiceInvalid(f"unknown client {client_id!r}", field="client_id")
    try:
        check_assignment(Assignment(client_id=client_id, project=project), "")
        rate = rate if rate is not None else configured_rate(settings, client_id, project)
        check_rate(rate, "rate")
        billing = settings.clients.get(client_id)
        currency = currency or (billing.currency if billing else None) or settings.currency
        check_currency(currency, "currency")
    except ConfigError as exc:
        field = (exc.field or "").lstrip(".")
        raise InvoiceInvalid(exc.message.split(": ", 1)[-1], field=field) from None
    if rate is None:
        raise InvoiceInvalid(
            "no rate: give one, or set review.clients.<client>.rate or review.default_rate",
            field="rate",
        )
    if start.tzinfo is None or end.tzinfo is None:
        raise InvoiceInvalid("must carry a time zone (UTC: a trailing Z)", field="start")
    if end <= start:
        raise InvoiceInvalid("the range is inverted or empty", field="end")
    draft = InvoiceDraft(
        client_id=client_id,
        project=project,
        start=start,
        end=end,
        rate=Decimal(rate),
        currency=currency,
    )
    check_unbilled(draft, locks)
    return draft


def check_unbilled(draft: InvoiceDraft, locks: Sequence[InvoiceEntry]) -> None:
    """Refuse an invoice over a period an issued invoice of its scope already bills (a
    lock without a project covers every project of its client)."""
    for lock in locks:
        same = lock.client_id == draft.client_id
        scoped = lock.project is None or draft.project is None or lock.project == draft.project
        if same and scoped and _overlaps(draft.start, draft.end, lock.start, lock.end):
            raise locked("the period is already invoiced", lock)


def check_void(invoice_id: str, reason: str, invoices: Sequence[InvoiceEntry]) -> InvoiceEntry:
    """The issued invoice a void lifts (unknown or already voided: refused)."""
    check_reason(reason, InvoiceInvalid)
    target = next((e for e in invoices if e.kind == "issued" and e.id == invoice_id), None)
    if target is None:
        raise InvoiceUnknown(f"no issued invoice {invoice_id!r}", field="id")
    if target not in active_locks(invoices):
        raise InvoiceInvalid(f"invoice {target.number} is already voided", field="id")
    return target


def next_number(invoices: Sequence[InvoiceEntry], year: int, fmt: str) -> tuple[str, int]:
    """The next number of ``year`` and its sequence; numbers are never reused, also
    after a void or a change of the format."""
    taken = {e.number for e in invoices if e.kind == "issued"}
    seq = 1 + sum(1 for e in invoices if e.kind == "issued" and e.year == year)
    number = fmt.format(year=year, seq=seq)
    while number in taken:
        seq += 1
        number = fmt.format(year=year, seq=seq)
    return number, seq


__all__ = [
    "IDLE_KINDS",
    "RANGED_KINDS",
    "REASON_MAX",
    "AdjustmentDraft",
    "InvoiceDraft",
    "active_locks",
    "check_adjustment",
    "check_invoice",
    "check_reason",
    "check_revoke",
    "check_unbilled",
    "check_void",
    "known_clients",
    "locked",
    "locking_invoice",
    "next_number",
    "revoked_by",
]
