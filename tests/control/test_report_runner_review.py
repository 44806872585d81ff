"""Control's report jobs over the reviewed timeline: the form's days are local days in the
configured zone, and an issued invoice is printed from its locked journal entry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mimolo.control.report_runner import (
    ReportRequest,
    prepare_local,
    run_issued_report_job,
    run_report_job,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import InvoiceUnknown
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.operations.review_checks import InvoiceDraft
from mimolo.operations.review_journal import ReviewJournal
from mimolo.timeline.zones import resolve_zone
from reports._review_root import work, write_config, write_evidence

BERLIN = resolve_zone("Europe/Berlin")
CONFIG = """\
[settings]
timezone = "Europe/Berlin"

[review]
currency = "CHF"

[review.clients.acme]
rate = "80"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_config(root, CONFIG)
    night = datetime(2026, 3, 29, 1, tzinfo=BERLIN).astimezone(UTC)
    write_evidence(root, work("editor", night, 120, client="acme"))  # 01:00-04:00 local
    return root


def request(kind: str, rate: str = "0", currency: str = "") -> ReportRequest:
    day = date(2026, 3, 29)
    return ReportRequest(
        kind=kind, start=day, end=day, client_id="acme", rate=rate, currency=currency
    )


def test_form_days_are_local_days_and_rates_come_from_the_settings(root: DataRoot) -> None:
    prepared = prepare_local(root, request("invoice-pdf"))
    start, end = prepared.window
    assert (end - start).total_seconds() == 23 * 3600  # the spring DST day in Berlin
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert prepared.params["rate"] == "80" and prepared.params["currency"] == "CHF"
    assert prepared.review.timezone == "Europe/Berlin"
    given = prepare_local(root, request("invoice-pdf", rate="95", currency="EUR"))
    assert given.params["rate"] == "95" and given.params["currency"] == "EUR"


def noop(fraction: float, message: str) -> None:
    assert 0.0 <= fraction <= 1.0


@pytest.mark.anyio
async def test_timecard_job_names_the_zone(root: DataRoot) -> None:
    path = await run_report_job(root, request("timecard-md"), noop)
    text = path.read_text()
    assert "(time zone Europe/Berlin)" in text
    assert "| 2026-03-29 | 01:00 | 04:00 | 2:00 | acme |" in text


@pytest.mark.anyio
async def test_issued_invoice_job_prints_the_locked_entry(root: DataRoot) -> None:
    draft = prepare_local(root, request("invoice-pdf"))
    figures = draft.review.figures
    assert figures is not None and figures.hours == "2.00"
    start, end = draft.window
    entry = ReviewJournal(root).issue_invoice(
        InvoiceDraft(client_id="acme", project=None, start=start, end=end,
                     rate=Decimal("80"), currency="CHF"),
        figures=figures, inputs_hash="f" * 64, timezone="Europe/Berlin", zone=BERLIN,
        author="tester", number_format="{year}-{seq:04d}",
    )  # fmt: skip
    path = await run_issued_report_job(root, entry.number, noop)
    assert path.name == "invoice-acme-20260329-20260329.pdf"  # named by its local days
    totals = pdf_invoice_totals(path.read_bytes())
    assert (totals["status"], totals["number"], totals["amount"]) == (
        "issued",
        entry.number,
        "160.00",
    )
    assert totals["inputs_hash"] == "f" * 64
    again = await run_issued_report_job(root, entry.id, noop)
    assert again.read_bytes() == path.read_bytes()
    with pytest.raises(InvoiceUnknown):
        await run_issued_report_job(root, "1999-0001", noop)
