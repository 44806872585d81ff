"""Issued invoices through a real ``mimolo ops``: ``mimolo report invoice --issue`` numbers
and locks the period, and ``--number`` reproduces the locked figures byte for byte after
later rules and adjustments; a voided invoice is no longer printed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from control._live import OpsProcess, short_data_root
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.ipc.client import request_sync
from mimolo.timeline.review_io import read_invoices
from mimolo.timeline.zones import resolve_zone
from reports._review_root import work, write_config, write_evidence

pytestmark = pytest.mark.slow

LA = resolve_zone("America/Los_Angeles")
CONFIG = """\
[settings]
timezone = "America/Los_Angeles"

[review]
seller = "Jo Doe, Studio 5"
currency = "USD"
rounding = "entry"
rounding_minutes = 15

[review.clients.acme]
rate = "100"
bill_to = "ACME Corp"
"""


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LA).astimezone(UTC)


@pytest.fixture
def ops() -> Iterator[OpsProcess]:
    with short_data_root() as root:
        write_config(root, CONFIG)
        write_evidence(
            root,
            [
                *work("editor", local(2, 17), 130, client="acme"),  # an evening: 17:00-19:10
                *work("editor", local(3, 23), 70, client="acme"),  # 23:00-00:10, over midnight
                *work("editor", local(4, 9), 50, client="globex"),
                *work("editor", local(10, 9), 60, client="acme"),  # after the invoiced week
            ],
        )
        proc = OpsProcess(root).start()
        try:
            yield proc
        finally:
            proc.stop()


def run(root: DataRoot, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(root.root)])
    return result.exit_code, result.output


def invoice(root: DataRoot, out: Path, *args: str) -> tuple[int, str]:
    return run(root, "report", "invoice", "--out", str(out), *args)


def test_issue_then_reprint_after_later_rules_and_adjustments(ops: OpsProcess) -> None:
    root = ops.root
    week = ("--from", "2026-03-02", "--to", "2026-03-08", "--client", "acme")
    code, out = invoice(root, root.root / "draft.pdf", *week)
    assert code == 0, out
    draft = pdf_invoice_totals((root.root / "draft.pdf").read_bytes())
    assert draft["status"] == "draft" and read_invoices(root) == []

    code, out = invoice(root, root.root / "first.pdf", *week, "--issue")
    assert code == 0, out
    assert "Issued invoice 2026-0001" in out
    first = (root.root / "first.pdf").read_bytes()
    totals = pdf_invoice_totals(first)
    # 2:10 and 1:10 (one local day each in Los Angeles), each entry up to 15 min: 2:15 + 1:15
    assert (totals["status"], totals["number"], totals["hours"]) == ("issued", "2026-0001", "3.50")
    assert (totals["amount"], totals["currency"], totals["timezone"]) == (
        "350.00", "USD", "America/Los_Angeles"
    )  # fmt: skip
    assert [line["day"] for line in totals["lines"]] == ["2026-03-02", "2026-03-03"]
    derivation = totals["derivation"]
    assert derivation["recorded_active_s"] == 3 * 3600 + 20 * 60
    assert derivation["rounding_delta_s"] == 10 * 60
    [entry] = read_invoices(root)
    assert entry.number == "2026-0001" and entry.figures is not None
    assert totals["inputs_hash"] == entry.inputs_hash
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(root.root / "first.pdf").pages)
    assert "Invoice 2026-0001" in text and "DRAFT" not in text and "ACME Corp" in text

    # later: a rule that would give acme's editor work to globex, and a manual entry
    # outside the locked week; neither changes what was billed
    rule = {"rule_id": "editor-globex", "match": {"instance_id": "editor"},
            "assign": {"client_id": "globex"}}  # fmt: skip
    request_sync(root.socket_path, "set_rules", rules=[rule])
    request_sync(
        root.socket_path, "add_adjustment", kind="manual_entry", reason="call",
        start=local(11, 9).isoformat(), end=local(11, 10).isoformat(),
        assign={"client_id": "acme"},
    )  # fmt: skip
    code, out = invoice(root, root.root / "again.pdf", "--number", "2026-0001")
    assert code == 0, out
    again = (root.root / "again.pdf").read_bytes()
    assert pdf_invoice_totals(again) == totals
    assert again == first  # the whole document, byte for byte

    # a draft over the same week names the lock and still bills its figures
    code, out = invoice(root, root.root / "draft2.pdf", *week, "--format", "html")
    assert code == 0, out
    html = (root.root / "draft2.pdf").read_text()
    assert "Locked by issued invoices: 2026-0001" in html and "Total due: USD 350.00" in html


def test_voided_invoices_and_bad_requests_are_refused(ops: OpsProcess) -> None:
    root = ops.root
    week = ("--from", "2026-03-02", "--to", "2026-03-08", "--client", "acme")
    code, out = invoice(root, root.root / "x.pdf", "--number", "2026-0099")
    assert code == 1 and "invoice_unknown" in out
    code, out = invoice(root, root.root / "x.pdf", *week, "--issue", "--invoice-number", "A-1")
    assert code == 2 and "Operations numbers issued invoices" in out
    code, out = invoice(root, root.root / "x.pdf", "--from", "2026-03-08", "--to", "2026-03-02",
                        "--client", "acme", "--issue")  # fmt: skip
    assert code == 1 and "report_range_invalid" in out and read_invoices(root) == []
    code, out = invoice(root, root.root / "x.pdf", *week[:4], "--client", "acme-typo", "--issue")
    assert code == 1 and "report_client_unknown" in out and read_invoices(root) == []
    code, out = invoice(root, root.root / "one.pdf", *week, "--issue")
    assert code == 0, out
    [entry] = read_invoices(root)
    code, out = invoice(root, root.root / "two.pdf", *week, "--issue")
    assert code == 1 and "period_locked" in out and "2026-0001" in out
    request_sync(root.socket_path, "void_invoice", id=entry.id, reason="wrong rate")
    code, out = invoice(root, root.root / "x.pdf", "--number", "2026-0001")
    assert code == 1 and "was voided" in out and "wrong rate" in out
    code, out = invoice(root, root.root / "three.pdf", *week, "--issue", "--rate", "120")
    assert code == 0 and "Issued invoice 2026-0002" in out
    assert pdf_invoice_totals((root.root / "three.pdf").read_bytes())["amount"] == "420.00"
    assert datetime.now(UTC) - entry.created_at < timedelta(hours=1)
