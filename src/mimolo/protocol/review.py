"""The review layer's data (DESIGN §6): categorization rules, the adjustments journal, the
invoice entries that lock what they bill, and the billing settings.

Plain data only, shared by every side: Operations writes rules into its config and appends
adjustments and invoice entries to ``operations/review/{adjustments,invoices}.jsonl`` (one
JSON object per line); the timeline applies them on read (evidence → rules → adjustments →
locks); reports and Control show them. Times are UTC; people read them in ``timezone``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias

import msgspec

ActivityModeMatch: TypeAlias = Literal["active", "passive"]
RoundingMode: TypeAlias = Literal["none", "entry", "day", "invoice"]
AdjustmentKind: TypeAlias = Literal[
    "manual_entry",  # add work that no agent saw (a meeting, a call)
    "assign_range",  # give a range's work to a client / project / tags
    "exclude_range",  # a range is not work (or not billable)
    "idle_keep",  # an idle gap was work after all (reading, thinking)
    "idle_discard",  # an idle gap stays out (the default; recorded for the audit trail)
    "idle_split",  # keep [start, split_at) of an idle gap, discard the rest
    "revoke",  # undo an earlier adjustment (``revokes``); never deletes a line
]
InvoiceEntryKind: TypeAlias = Literal["issued", "voided"]


class RuleMatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Every field given must match (AND); an empty match matches everything.

    ``instance_id``, ``plugin_id``, ``client_id``: exact or a glob (``fnmatch``);
    ``application`` (the application or its executable) and ``title``: a regular
    expression, searched case-insensitively; ``path``: a glob on any path the summary
    reports; ``mode``: the summary's activity mode.
    """

    instance_id: str | None = None
    plugin_id: str | None = None
    client_id: str | None = None
    application: str | None = None
    title: str | None = None
    path: str | None = None
    mode: ActivityModeMatch | None = None


class Assignment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """What a rule or an adjustment gives the time it catches."""

    client_id: str | None = None
    project: str | None = None
    tags: tuple[str, ...] = ()


class Rule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One categorization rule. Rules are ordered; the first enabled match wins."""

    rule_id: str  # a slug, unique in the list
    match: RuleMatch = RuleMatch()
    assign: Assignment = Assignment()
    label: str = ""
    enabled: bool = True


class Adjustment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One line of ``operations/review/adjustments.jsonl``; never edited, only revoked.

    ``start``/``end`` bound the range (half-open, UTC) for every kind but ``revoke``;
    ``split_at`` is for ``idle_split``; ``revokes`` names the adjustment a ``revoke`` undoes.
    """

    id: str  # assigned by Operations (32 hex)
    seq: int  # order in the journal, from 1
    kind: AdjustmentKind
    reason: str
    author: str
    created_at: datetime
    start: datetime | None = None
    end: datetime | None = None
    assign: Assignment = Assignment()
    split_at: datetime | None = None
    revokes: str | None = None


class BillingFigures(msgspec.Struct, kw_only=True, frozen=True):
    """How billable hours were derived, so the numbers always add up:
    ``recorded_active_s - idle_removed_s + idle_kept_s + manual_added_s - excluded_s
    + rounding_delta_s == billable_s``."""

    recorded_active_s: float
    idle_removed_s: float
    idle_kept_s: float
    manual_added_s: float
    excluded_s: float
    rounding_delta_s: float
    billable_s: float
    hours: str  # decimal string, as billed
    rate: str  # decimal string
    currency: str
    amount: str  # decimal string, as billed
    rounding: RoundingMode
    rounding_minutes: int
    per_day: dict[str, float] = {}  # local day (YYYY-MM-DD) -> billable seconds


class InvoiceEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One line of ``operations/review/invoices.jsonl``. An ``issued`` entry locks its
    client (and project, when given) over ``[start, end)``; a later ``voided`` entry
    (``voids`` = the issued entry's id) lifts the lock. Drafts are never recorded."""

    id: str
    seq: int
    kind: InvoiceEntryKind
    author: str
    created_at: datetime
    reason: str = ""
    number: str = ""  # issued: a sequence per year, from settings.review.invoice_number_format
    year: int = 0
    client_id: str = ""
    project: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    timezone: str = "UTC"
    figures: BillingFigures | None = None  # issued: the locked figures, reproduced as is
    inputs_hash: str = ""  # sha256 of the evidence seqs + rules + adjustments it used
    voids: str | None = None
    # issued: what billed it, as it stood (a reprint or an evidence pack of this invoice
    # uses these, not today's settings); ``default`` None = an entry from before they existed
    rules: tuple[Rule, ...] = ()
    default: Assignment | None = None
    seller: str = ""
    bill_to: str = ""


class ClientBilling(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Per-client (and per-project) billing: rate, currency, who is billed."""

    rate: str | None = None  # decimal string; None: settings.review.default_rate
    currency: str | None = None
    bill_to: str = ""  # the buyer block, as printed
    projects: dict[str, str] = {}  # project -> its own hourly rate (decimal string)


class ReviewSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``[review]`` in ``agent_config.toml`` (written by Operations)."""

    rules: tuple[Rule, ...] = ()
    default: Assignment = Assignment()
    clients: dict[str, ClientBilling] = {}
    default_rate: str | None = None
    currency: str = "EUR"
    rounding: RoundingMode = "none"
    rounding_minutes: int = 6
    seller: str = ""  # the seller block, as printed
    invoice_number_format: str = "{year}-{seq:04d}"


def configured_rate(
    settings: ReviewSettings, client_id: str | None, project: str | None
) -> str | None:
    """The hourly rate the settings give: the project's, else the client's, else
    ``default_rate`` (decimal strings; None when none is set)."""
    billing = settings.clients.get(client_id) if client_id else None
    if billing is not None:
        if project is not None and project in billing.projects:
            return billing.projects[project]
        if billing.rate is not None:
            return billing.rate
    return settings.default_rate


__all__ = [
    "ActivityModeMatch",
    "Adjustment",
    "AdjustmentKind",
    "Assignment",
    "BillingFigures",
    "ClientBilling",
    "InvoiceEntry",
    "InvoiceEntryKind",
    "ReviewSettings",
    "RoundingMode",
    "Rule",
    "RuleMatch",
    "configured_rate",
]
