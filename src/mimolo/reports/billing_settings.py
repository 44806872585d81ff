"""Who pays what, from the ``[review]`` settings: rates, currency, the parties, known clients.

An hourly rate given for the report wins; otherwise the project's own rate
(``review.clients.<client>.projects.<project>``), else the client's, else
``review.default_rate`` — the order Operations uses when it issues an invoice. The currency
is the given one, else the client's, else ``review.currency``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from mimolo.errors import InvoiceInvalid, ReportError
from mimolo.protocol.review import ReviewSettings, configured_rate
from mimolo.reports.params import check_currency, parse_rate


class Billing(msgspec.Struct, frozen=True, kw_only=True):
    """The resolved billing of one report: ``rate`` is None when none is configured."""

    rate: Decimal | None
    currency: str
    bill_to: str
    seller: str


def resolve_billing(
    settings: ReviewSettings,
    client_id: str | None,
    project: str | None,
    *,
    rate: str | None = None,
    currency: str | None = None,
    bill_to: str | None = None,
    seller: str | None = None,
) -> Billing:
    """Rate, currency and parties for a report; a given value wins over the settings."""
    billing = settings.clients.get(client_id) if client_id else None
    chosen = rate if rate is not None else configured_rate(settings, client_id, project)
    code = currency or (billing.currency if billing is not None else None) or settings.currency
    return Billing(
        rate=parse_rate(chosen) if chosen is not None else None,
        currency=check_currency(code.upper()),
        bill_to=bill_to or (billing.bill_to if billing is not None else "") or (client_id or ""),
        seller=seller if seller is not None else settings.seller,
    )


def require_rate(billing: Billing, client_id: str | None) -> Decimal:
    """An invoice needs a rate: refused with ``invoice_invalid`` naming where to set one."""
    if billing.rate is None:
        raise InvoiceInvalid(
            f"no hourly rate for {client_id or 'this invoice'}: give --rate, or set "
            f"review.clients.{client_id or '<client>'}.rate or review.default_rate",
            field="rate",
        )
    return billing.rate


def known_clients(
    settings: ReviewSettings,
    instance_clients: Iterable[str],
    evidence_clients: Iterable[str],
) -> set[str]:
    """Clients a report may name: configured, assigned by a rule or the default, given to
    an instance, or found in the evidence."""
    out = set(settings.clients)
    out.update(r.assign.client_id for r in settings.rules if r.assign.client_id)
    if settings.default.client_id:
        out.add(settings.default.client_id)
    out.update(instance_clients)
    out.update(evidence_clients)
    return out


def check_client(client_id: str | None, known: set[str], per_client: Mapping[str, float]) -> None:
    """Refuse a client the settings, rules and evidence do not know (a typo bills nothing)."""
    if client_id is None or client_id in known or per_client.get(client_id, 0.0) > 0:
        return
    hint = ", ".join(sorted(known)[:10]) or "none yet"
    raise ReportError(f"unknown client {client_id!r} (known: {hint})", code="report_client_unknown")


__all__ = [
    "Billing",
    "check_client",
    "known_clients",
    "require_rate",
    "resolve_billing",
]
