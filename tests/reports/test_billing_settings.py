"""Rates, currency and parties from the review settings; unknown clients refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mimolo.errors import ConfigError, InvoiceInvalid, ReportError
from mimolo.protocol.review import Assignment, ClientBilling, ReviewSettings, Rule
from mimolo.reports.billing_settings import (
    check_client,
    known_clients,
    require_rate,
    resolve_billing,
)
from mimolo.reports.window import day_window, report_window

SETTINGS = ReviewSettings(
    clients={
        "acme": ClientBilling(rate="90", currency="USD", bill_to="ACME Corp\n1 Road",
                              projects={"web": "120", "support": "60.50"}),
        "globex": ClientBilling(bill_to="Globex"),
    },
    default_rate="75",
    currency="EUR",
    seller="Jo Doe\nStudio",
    rules=(Rule(rule_id="r1", assign=Assignment(client_id="initech")),),
    default=Assignment(client_id="house"),
)  # fmt: skip


@pytest.mark.parametrize(
    ("client", "project", "given", "rate", "currency"),
    [
        ("acme", "web", None, "120", "USD"),  # the project's own rate
        ("acme", "support", None, "60.50", "USD"),
        ("acme", "other", None, "90", "USD"),  # a project without one: the client's
        ("acme", None, None, "90", "USD"),
        ("globex", None, None, "75", "EUR"),  # no client rate: the default
        ("acme", "web", "99.5", "99.5", "USD"),  # a rate given on the command line wins
        (None, None, None, "75", "EUR"),
    ],
)
def test_rates_per_client_and_project(
    client: str | None, project: str | None, given: str | None, rate: str, currency: str
) -> None:
    billing = resolve_billing(SETTINGS, client, project, rate=given)
    assert billing.rate == Decimal(rate) and billing.currency == currency
    assert billing.seller == "Jo Doe\nStudio"


def test_parties_and_overrides() -> None:
    assert resolve_billing(SETTINGS, "acme", None).bill_to == "ACME Corp\n1 Road"
    assert resolve_billing(SETTINGS, "initech", None).bill_to == "initech"
    given = resolve_billing(SETTINGS, "acme", None, currency="chf", bill_to="X", seller="Y")
    assert (given.currency, given.bill_to, given.seller) == ("CHF", "X", "Y")


def test_bad_rates_and_currencies_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a number"):
        resolve_billing(SETTINGS, "acme", None, rate="lots")
    with pytest.raises(ConfigError, match="positive"):
        resolve_billing(SETTINGS, "acme", None, rate="-5")
    with pytest.raises(ConfigError, match="currency"):
        resolve_billing(SETTINGS, "acme", None, currency="EURO")
    none = resolve_billing(ReviewSettings(), "acme", None)
    assert none.rate is None
    with pytest.raises(InvoiceInvalid, match=r"review\.clients\.acme\.rate"):
        require_rate(none, "acme")


def test_known_clients_come_from_settings_rules_instances_and_evidence() -> None:
    known = known_clients(SETTINGS, ["folders-client"], {"seen": 10.0})
    assert known == {"acme", "globex", "initech", "house", "folders-client", "seen"}
    check_client("acme", known, {})
    check_client(None, known, {})
    with pytest.raises(ReportError) as caught:
        check_client("acmee", known, {})
    assert caught.value.code == "report_client_unknown" and "'acmee'" in caught.value.message


def test_windows_are_local_days_and_inverted_ranges_are_refused() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = report_window("2026-03-29", "2026-03-29", berlin, today=date(2026, 4, 1))
    assert (end - start).total_seconds() == 23 * 3600
    assert start.isoformat() == "2026-03-28T23:00:00+00:00"
    start, end = report_window(None, None, berlin, today=date(2026, 4, 1))
    assert start.astimezone(berlin).date() == date(2026, 3, 26)
    assert end.astimezone(berlin).date() == date(2026, 4, 2)
    start, _ = report_window("2026-03-02T08:30:00", "2026-03-03", berlin, today=date(2026, 4, 1))
    assert start.isoformat() == "2026-03-02T07:30:00+00:00"  # a time without offset is local
    for first, last in (("2026-03-05", "2026-03-02"), ("2026-03-02T10:00Z", "2026-03-02T09:00Z")):
        with pytest.raises(ReportError) as caught:
            report_window(first, last, berlin, today=date(2026, 4, 1))
        assert caught.value.code == "report_range_invalid"
    with pytest.raises(ReportError, match="not a date"):
        report_window("March", None, berlin, today=date(2026, 4, 1))
    with pytest.raises(ReportError):
        day_window(date(2026, 3, 3), date(2026, 3, 1), berlin)
