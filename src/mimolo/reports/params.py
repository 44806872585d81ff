"""Report parameters as reporters read them from the ``generate`` request."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec

from mimolo.errors import ConfigError

ReportFormat = Literal["md", "html", "pdf", "csv"]

FORMATS: dict[str, tuple[str, ...]] = {
    "timecard": ("md", "html", "pdf"),
    "invoice": ("pdf", "html"),
    "csv": ("csv",),
}
"""Formats each built-in report kind can produce; the first is the default."""

MIME: dict[str, str] = {
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "csv": "text/csv",
}


class ReportParams(msgspec.Struct, kw_only=True, rename={"start": "from", "end": "to"}):
    """What the runner sends in ``params`` (unknown keys are ignored for forward compat)."""

    output_path: str
    format: ReportFormat
    start: datetime
    end: datetime
    client_id: str | None = None
    project: str | None = None
    timezone: str | None = None  # without a prepared review: the zone of the days
    rate: str | None = None
    currency: str = "EUR"
    invoice_number: str | None = None
    title: str | None = None
    bill_to: str | None = None
    issuer: str | None = None
    templates_dir: str | None = None
    generated_at: datetime | None = None


def parse_params(raw: dict[str, Any]) -> ReportParams:
    """Validate ``params``; a bad value is a ``ConfigError`` naming the key."""
    try:
        return msgspec.convert(raw, ReportParams)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc), field="params") from None


def parse_rate(value: str | float | int | None) -> Decimal:
    """A positive hourly rate with at most two decimals' meaning (kept exact as Decimal)."""
    if value is None:
        raise ConfigError("an hourly rate is required", field="rate")
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{value!r} is not a number", field="rate") from None
    if not rate.is_finite() or rate <= 0:
        raise ConfigError("must be a positive number", field="rate")
    return rate


def check_currency(value: str) -> str:
    if not (value.isalpha() and len(value) == 3 and value.isupper()):
        raise ConfigError(f"{value!r} is not a three-letter currency code", field="currency")
    return value


__all__ = [
    "FORMATS",
    "MIME",
    "ReportFormat",
    "ReportParams",
    "check_currency",
    "parse_params",
    "parse_rate",
]
