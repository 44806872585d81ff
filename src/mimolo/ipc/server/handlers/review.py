"""Review commands (DESIGN §6, §7): ``get_rules``, ``set_rules``, ``add_adjustment``,
``revoke_adjustment``, ``list_adjustments``, ``issue_invoice``, ``void_invoice``,
``list_invoices``.

Rules live in Operations' config (``[[review.rules]]``); adjustments and invoices in the
append-only review journal (``operations.review_journal``). Every mutation is checked
before anything is written, answers the entry as written, and leaves an audit record;
a refusal writes nothing and leaves a warning audit record naming its code.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeVar

import msgspec

from mimolo.errors import InvalidField, MimoloError
from mimolo.ipc.server.bounds import PageParams, paged
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.handlers.review_figures import compute_figures, evidence_clients
from mimolo.ipc.server.registry import Command, NoParams
from mimolo.operations.review_checks import (
    AdjustmentDraft,
    check_invoice,
    known_clients,
    revoked_by,
)
from mimolo.operations.review_journal import ReviewJournal
from mimolo.protocol.config_schema import AgentConfig
from mimolo.protocol.review import AdjustmentKind, Assignment, Rule

RequestVia = Literal["ipc", "cli", "control"]
T = TypeVar("T")
EVIDENCE_LOOKBACK: Final = timedelta(days=366)


class SetRulesParams(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[Rule]
    default: Assignment | None = None
    via: RequestVia = "ipc"


class AddAdjustmentParams(msgspec.Struct, forbid_unknown_fields=True):
    kind: AdjustmentKind
    reason: str
    start: datetime | None = None
    end: datetime | None = None
    assign: Assignment = Assignment()
    split_at: datetime | None = None
    via: RequestVia = "ipc"


class RevokeAdjustmentParams(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    reason: str
    via: RequestVia = "ipc"


class ListAdjustmentsParams(PageParams, forbid_unknown_fields=True):
    start: datetime | None = None
    end: datetime | None = None


class IssueInvoiceParams(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    start: datetime
    end: datetime
    project: str | None = None
    rate: str | None = None
    currency: str | None = None
    via: RequestVia = "ipc"


class VoidInvoiceParams(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    reason: str
    via: RequestVia = "ipc"


class ListInvoicesParams(PageParams, forbid_unknown_fields=True):
    year: int | None = None


def author() -> str:
    """Who made a change: the user Operations runs as (the socket admits no other)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def journal(ctx: IpcContext) -> ReviewJournal:
    """The review journal, opened on first use (``review_error`` if it cannot be read)."""
    if ctx.review is None:
        ctx.review = ReviewJournal(ctx.data_root)
    return ctx.review


async def _decided(
    ctx: IpcContext, action: str, via: str, run: Callable[[], Awaitable[T]], **fields: Any
) -> T:
    """Run a review mutation; a refusal leaves a warning audit record and is re-raised."""
    try:
        return await run()
    except MimoloError as exc:
        ctx.refused(action, via, exc, **fields)
        raise


def _accepted(ctx: IpcContext, action: str, via: str, **fields: Any) -> None:
    """The audit record of an accepted review mutation (``via``: who asked)."""
    ctx.diagnostics.record("audit", action=action, via=via, outcome="accepted", **fields)


def _client_check(ctx: IpcContext, config: AgentConfig) -> Callable[[str], bool]:
    """Known clients: the config's (billing, rules, default, instances), else the
    evidence's over the last year (read only when the config does not name it)."""
    named = known_clients(
        config.review, (i.client_id for i in config.instances.values() if i.client_id)
    )
    seen: set[str] | None = None

    def known(client_id: str) -> bool:
        nonlocal seen
        if client_id in named:
            return True
        if seen is None:
            seen = evidence_clients(ctx.data_root, EVIDENCE_LOOKBACK)
        return client_id in seen

    return known


def _rules_view(config: AgentConfig) -> dict[str, Any]:
    review = config.review
    return {
        "rules": [msgspec.to_builtins(r) for r in review.rules],
        "default": msgspec.to_builtins(review.default),
    }


async def get_rules(ctx: IpcContext, params: NoParams) -> dict[str, Any]:
    """The categorization rules in force (in order) and the default assignment."""
    return _rules_view(ctx.store.load())


async def set_rules(ctx: IpcContext, params: SetRulesParams) -> dict[str, Any]:
    """Replace the rules (and the default when given); answers what was written."""

    async def run() -> AgentConfig:
        async with ctx.config_lock:
            return ctx.store.set_rules(params.rules, params.default)

    config = await _decided(ctx, "set_rules", params.via, run, rules=len(params.rules))
    _accepted(
        ctx,
        "set_rules",
        params.via,
        rule_ids=[r.rule_id for r in config.review.rules],
        default=msgspec.to_builtins(config.review.default),
    )
    return _rules_view(config)


async def add_adjustment(ctx: IpcContext, params: AddAdjustmentParams) -> dict[str, Any]:
    """Append an adjustment (manual entry, assign, exclude, idle keep/discard/split)."""
    draft = AdjustmentDraft(
        kind=params.kind,
        reason=params.reason,
        start=params.start,
        end=params.end,
        assign=params.assign,
        split_at=params.split_at,
    )

    async def run() -> dict[str, Any]:
        review = journal(ctx)
        async with review.lock:
            config = ctx.store.load()
            known = _client_check(ctx, config)
            # the evidence scan (when the config does not name the client) is file I/O
            if draft.assign.client_id is not None:
                await asyncio.to_thread(known, draft.assign.client_id)
            entry = review.add_adjustment(
                draft, author=author(), settings=config.review, is_known_client=known
            )
        return msgspec.to_builtins(entry)  # type: ignore[no-any-return]

    entry = await _decided(ctx, "add_adjustment", params.via, run, adjustment_kind=params.kind)
    _accepted(ctx, "add_adjustment", params.via, **_audit_fields(entry))
    return {"adjustment": entry}


async def revoke_adjustment(ctx: IpcContext, params: RevokeAdjustmentParams) -> dict[str, Any]:
    """Undo an adjustment with a later ``revoke`` entry (nothing is ever deleted)."""

    async def run() -> dict[str, Any]:
        review = journal(ctx)
        async with review.lock:
            config = ctx.store.load()
            entry = review.revoke_adjustment(
                params.id, params.reason, author=author(), settings=config.review
            )
        return msgspec.to_builtins(entry)  # type: ignore[no-any-return]

    entry = await _decided(ctx, "revoke_adjustment", params.via, run, revokes=params.id)
    _accepted(ctx, "revoke_adjustment", params.via, **_audit_fields(entry))
    return {"adjustment": entry}


def _audit_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """An adjustment's audit fields (named so they never clash with the record's own)."""
    names = {"id": "adjustment_id", "seq": "seq", "kind": "adjustment_kind", "start": "start",
             "end": "end", "assign": "assign", "split_at": "split_at", "revokes": "revokes",
             "reason": "reason", "author": "author"}  # fmt: skip
    return {new: entry[old] for old, new in names.items() if entry.get(old) is not None}


async def list_adjustments(ctx: IpcContext, params: ListAdjustmentsParams) -> dict[str, Any]:
    """Adjustments in journal order (those overlapping ``start``..``end`` when given, and
    the revokes of those), each with ``revoked_by``; paged."""
    if params.start and params.end and params.end <= params.start:
        raise InvalidField("end", "must be after start")
    entries = list(journal(ctx).adjustments)
    gone = revoked_by(entries)
    lo, hi = params.start, params.end

    def inside(start: datetime | None, end: datetime | None) -> bool:
        return (hi is None or (start is not None and start < hi)) and (
            lo is None or (end is not None and lo < end)
        )

    picked = {a.id for a in entries if a.kind != "revoke" and inside(a.start, a.end)}
    items = [
        {**msgspec.to_builtins(a), "revoked_by": gone.get(a.id)}
        for a in entries
        if a.id in picked or (a.kind == "revoke" and a.revokes in picked)
    ]
    return paged("adjustments", items, params)


async def issue_invoice(ctx: IpcContext, params: IssueInvoiceParams) -> dict[str, Any]:
    """Compute the figures over the reviewed timeline, allocate the number, append the
    entry (which locks its client and range) and answer it."""

    async def run() -> dict[str, Any]:
        review = journal(ctx)
        async with review.lock:
            config = ctx.store.load()
            known = _client_check(ctx, config)
            await asyncio.to_thread(known, params.client_id)
            draft = check_invoice(
                client_id=params.client_id,
                project=params.project,
                start=params.start,
                end=params.end,
                rate=params.rate,
                currency=params.currency,
                locks=review.locks(),
                settings=config.review,
                is_known_client=known,
            )
            computed = await asyncio.to_thread(
                compute_figures, ctx.data_root, config, draft, review
            )
            entry = review.issue_invoice(
                draft,
                figures=computed.figures,
                inputs_hash=computed.inputs_hash,
                timezone=computed.timezone,
                zone=computed.zone,
                author=author(),
                number_format=config.review.invoice_number_format,
                settings=config.review,
            )
        return msgspec.to_builtins(entry)  # type: ignore[no-any-return]

    entry = await _decided(ctx, "issue_invoice", params.via, run, client_id=params.client_id)
    _accepted(
        ctx,
        "issue_invoice",
        params.via,
        invoice_id=entry["id"],
        number=entry["number"],
        client_id=entry["client_id"],
        project=entry.get("project"),
        start=entry["start"],
        end=entry["end"],
        amount=entry["figures"]["amount"],
        currency=entry["figures"]["currency"],
        inputs_hash=entry["inputs_hash"],
    )
    return {"invoice": entry}


async def void_invoice(ctx: IpcContext, params: VoidInvoiceParams) -> dict[str, Any]:
    """Lift an issued invoice's lock with a ``voided`` entry (its number stays used)."""

    async def run() -> dict[str, Any]:
        review = journal(ctx)
        async with review.lock:
            entry = review.void_invoice(params.id, params.reason, author=author())
        return msgspec.to_builtins(entry)  # type: ignore[no-any-return]

    entry = await _decided(ctx, "void_invoice", params.via, run, invoice_id=params.id)
    _accepted(
        ctx,
        "void_invoice",
        params.via,
        invoice_id=params.id,
        number=entry["number"],
        reason=entry["reason"],
    )
    return {"invoice": entry}


async def list_invoices(ctx: IpcContext, params: ListInvoicesParams) -> dict[str, Any]:
    """Issued invoices (of ``year`` when given), each with ``voided_by``/``voided_at``
    (the void's id and time, or null); paged."""
    entries = list(journal(ctx).invoices)
    voids = {e.voids: e for e in entries if e.kind == "voided" and e.voids}
    items = []
    for e in entries:
        if e.kind != "issued" or (params.year is not None and e.year != params.year):
            continue
        void = voids.get(e.id)
        items.append(
            {
                **msgspec.to_builtins(e),
                "voided_by": void.id if void else None,
                "voided_at": msgspec.to_builtins(void.created_at) if void else None,
                "void_reason": void.reason if void else None,
            }
        )
    return paged("invoices", items, params)


COMMANDS: Final[list[Command[IpcContext, Any]]] = [
    Command("get_rules", NoParams, get_rules),
    Command("set_rules", SetRulesParams, set_rules, mutating=True),
    Command("add_adjustment", AddAdjustmentParams, add_adjustment, mutating=True),
    Command("revoke_adjustment", RevokeAdjustmentParams, revoke_adjustment, mutating=True),
    Command("list_adjustments", ListAdjustmentsParams, list_adjustments),
    Command("issue_invoice", IssueInvoiceParams, issue_invoice, mutating=True),
    Command("void_invoice", VoidInvoiceParams, void_invoice, mutating=True),
    Command("list_invoices", ListInvoicesParams, list_invoices),
]


__all__ = [
    "COMMANDS",
    "AddAdjustmentParams",
    "IssueInvoiceParams",
    "ListAdjustmentsParams",
    "ListInvoicesParams",
    "RevokeAdjustmentParams",
    "SetRulesParams",
    "VoidInvoiceParams",
    "add_adjustment",
    "get_rules",
    "issue_invoice",
    "list_adjustments",
    "list_invoices",
    "revoke_adjustment",
    "set_rules",
    "void_invoice",
]
