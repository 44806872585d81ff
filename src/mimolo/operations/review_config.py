"""Checking ``[review]`` and ``settings.timezone`` of ``agent_config.toml`` (DESIGN §6).

Operations refuses a config whose rules would not compile, whose rates are not decimals
or whose invoice numbering could repeat a number; every error names the key as the file
spells it (``review.rules[2].match.title``). Rules that do not compile are
``rules_invalid`` (also over IPC, ``set_rules``); the rest is ``config_invalid``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from mimolo.errors import ConfigError, RulesInvalid
from mimolo.protocol.review import Assignment, ReviewSettings, Rule
from mimolo.slugs import check_slug, is_slug
from mimolo.timeline.rules import compile_rules

MAX_RULES = 1000
MAX_ROUNDING_MINUTES = 24 * 60
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check_timezone(name: str, field: str = "settings.timezone") -> None:
    """``""`` (the system's zone) or an IANA name this machine knows."""
    if name == "":
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"unknown time zone {name!r} (an IANA name)", field=field) from None


def check_rules(rules: Sequence[Rule], prefix: str = "review.rules") -> None:
    """Ids are unique slugs, the rules compile as the timeline compiles them, assignments
    name slug clients."""
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        at = f"{prefix}[{i}]"
        if i >= MAX_RULES:
            raise RulesInvalid(f"at most {MAX_RULES} rules", field=prefix)
        if not is_slug(rule.rule_id):
            raise RulesInvalid(
                f"{rule.rule_id!r} is not a slug (lowercase letters, digits, '-' or '_')",
                field=f"{at}.rule_id",
            )
        if rule.rule_id in seen:
            raise RulesInvalid(
                f"{rule.rule_id!r} is already the id of rule {seen[rule.rule_id]}",
                field=f"{at}.rule_id",
            )
        seen[rule.rule_id] = i
        check_assignment(rule.assign, f"{at}.assign")
    try:
        compile_rules(rules)
    except RulesInvalid as exc:  # its field is ``rules[i]...``: name it as the file does
        field = (exc.field or "").removeprefix("rules")
        raise RulesInvalid(exc.message.split(": ", 1)[-1], field=f"{prefix}{field}") from None


def check_assignment(assign: Assignment, field: str) -> None:
    """A client id is a slug; a project and tags are short, printable names."""
    if assign.client_id is not None:
        check_slug(assign.client_id, f"{field}.client_id")
    if assign.project is not None:
        _check_name(assign.project, f"{field}.project")
    for j, tag in enumerate(assign.tags):
        _check_name(tag, f"{field}.tags[{j}]")


def _check_name(value: str, field: str) -> None:
    if not value.strip() or len(value) > 80 or not value.isprintable():
        raise ConfigError("must be 1-80 printable characters", field=field)


def check_rate(value: str | None, field: str) -> None:
    """A decimal hourly rate, 0 or more (a string, so no float ever reaches an amount)."""
    if value is None:
        return
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{value!r} is not a decimal number", field=field) from None
    if not rate.is_finite() or rate < 0:
        raise ConfigError("must be a finite decimal, 0 or more", field=field)


def check_currency(value: str, field: str) -> None:
    if not _CURRENCY.match(value):
        raise ConfigError(f"{value!r} is not a currency code (ISO 4217: EUR, USD)", field=field)


def check_number_format(fmt: str, field: str = "review.invoice_number_format") -> None:
    """``{year}`` and ``{seq}`` placeholders only; two invoices never get one number."""
    try:
        first = fmt.format(year=2026, seq=1)
        second = fmt.format(year=2026, seq=2)
        other_year = fmt.format(year=2027, seq=1)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"not a usable format ({exc}); use {{year}} and {{seq}}", field=field
        ) from None
    if first in (second, other_year):
        raise ConfigError("must contain {seq} and {year}, so numbers never repeat", field=field)
    if not first.isprintable() or any(c in first for c in "/\\") or len(first) > 64:
        raise ConfigError("gives a number with '/', '\\' or odd characters", field=field)


def check_review(review: ReviewSettings, prefix: str = "review") -> None:
    """Every check above over a whole ``[review]`` table."""
    check_rules(review.rules, f"{prefix}.rules")
    check_assignment(review.default, f"{prefix}.default")
    check_rate(review.default_rate, f"{prefix}.default_rate")
    check_currency(review.currency, f"{prefix}.currency")
    for client_id, billing in review.clients.items():
        at = f"{prefix}.clients.{client_id}"
        check_slug(client_id, at)
        check_rate(billing.rate, f"{at}.rate")
        if billing.currency is not None:
            check_currency(billing.currency, f"{at}.currency")
        for project, rate in billing.projects.items():
            _check_name(project, f"{at}.projects")
            check_rate(rate, f"{at}.projects.{project}")
    if not 1 <= review.rounding_minutes <= MAX_ROUNDING_MINUTES:
        raise ConfigError(
            f"must be between 1 and {MAX_ROUNDING_MINUTES}", field=f"{prefix}.rounding_minutes"
        )
    check_number_format(review.invoice_number_format, f"{prefix}.invoice_number_format")


__all__ = [
    "MAX_RULES",
    "check_assignment",
    "check_currency",
    "check_number_format",
    "check_rate",
    "check_review",
    "check_rules",
    "check_timezone",
]
