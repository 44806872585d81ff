"""A reviewed Berlin invoice for pack tests: a real chained ledger, the config Operations
would write, adjustments and invoice entries appended by Operations' own ``ReviewJournal``,
the figures computed by Operations' own ``compute_figures``, the PDF made by the report
pipeline (a reporter subprocess)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from evidence._packs import summary
from mimolo.control.report_packs import reviewed_invoice
from mimolo.dataroot import DataRoot
from mimolo.evidence.pack import PackSource, build_pack, invoice_totals, write_pack
from mimolo.ipc.server.handlers.review_figures import compute_figures
from mimolo.operations.host_key import host_public_key_path, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.operations.review_checks import AdjustmentDraft, InvoiceDraft
from mimolo.operations.review_journal import ReviewJournal
from mimolo.protocol.review import Adjustment, Assignment, InvoiceEntry
from mimolo.reports.issued import prepare_issued
from mimolo.reports.prepare import Prepared, ReportAsk, load_settings, prepare_report
from mimolo.reports.runner import run_report_sync
from mimolo.reports.window import report_window
from mimolo.timeline.zones import resolve_zone

BERLIN = resolve_zone("Europe/Berlin")
FIRST, LAST = date(2026, 3, 10), date(2026, 3, 11)
CONFIG = """\
[settings]
timezone = "Europe/Berlin"
cooldown_s = 600

[review]
currency = "EUR"
rounding = "entry"
rounding_minutes = 15
default_rate = "90"

[review.clients.acme]
rate = "90"
"""
LATER_RULE = """
[[review.rules]]
rule_id = "editor-design"
[review.rules.match]
instance_id = "editor"
[review.rules.assign]
project = "design"
tags = ["later"]
"""


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def write_config(root: DataRoot, text: str = CONFIG) -> None:
    root.config_path.parent.mkdir(parents=True, exist_ok=True)
    root.config_path.write_text(text, encoding="utf-8")
    os.chmod(root.config_path, 0o600)


def _work(start: datetime, minutes: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(0, minutes, 5)]


def write_ledger(root: DataRoot) -> None:
    """acme in Berlin: 09:00-09:50 and 10:30-11:30 on the 10th (a 40-minute idle gap),
    00:20-01:20 on the 11th (the UTC day before); globex in the afternoon; passive screen
    records across acme's mornings. A chained ledger, then a clean shutdown."""
    plan = [
        *((at, "editor", "acme", "active") for at in _work(local(10, 9), 50)),
        *((at, "editor", "acme", "active") for at in _work(local(10, 10, 30), 60)),
        *((at, "editor", "acme", "active") for at in _work(local(11, 0, 20), 60)),
        *((at, "globex-app", "globex", "active") for at in _work(local(10, 14), 60)),
        *((at, "screen", None, "passive") for at in _work(local(10, 9), 150)[::3]),
    ]
    ledger = Ledger(root, host="testhost", host_key=load_or_create_host_key(root))
    ledger.open()
    for at, instance, client, mode in sorted(plan, key=lambda p: p[0]):
        ledger.append(
            plugin_id="agent_example", instance_id=instance, instance_label=instance,
            raw_summary=summary(at, client, mode=mode), received_at=at + timedelta(minutes=5),
        )  # fmt: skip
        ledger.commit()
    ledger.sync()
    ledger.close()


def adjust(
    root: DataRoot, kind: str, start: datetime, end: datetime, client: str | None = None
) -> Adjustment:
    """An adjustment appended the way Operations does (its checks included)."""
    draft = AdjustmentDraft(
        kind=kind,  # type: ignore[arg-type]
        reason=f"test {kind}",
        start=start,
        end=end,
        assign=Assignment(client_id=client),
    )
    settings = load_settings(root).config.review
    return ReviewJournal(root).add_adjustment(
        draft, author="tester", settings=settings, is_known_client=lambda c: True
    )


def write_review(root: DataRoot) -> dict[str, Adjustment]:
    """A kept idle gap, an exclusion inside acme's work and a manual meeting."""
    return {
        "keep": adjust(root, "idle_keep", local(10, 9, 50), local(10, 10, 30)),
        "exclude": adjust(root, "exclude_range", local(10, 11), local(10, 11, 15)),
        "manual": adjust(root, "manual_entry", local(11, 14), local(11, 15), "acme"),
    }


def window(last: date = LAST) -> tuple[datetime, datetime]:
    return report_window(FIRST.isoformat(), last.isoformat(), BERLIN, today=last)


def _pdf(root: DataRoot, prepared: Prepared) -> Path:
    params = {**prepared.params, "format": "pdf"}
    result = run_report_sync(root, "invoice", params, prepared.segments, review=prepared.review)
    return Path(result.path)


def draft_invoice(root: DataRoot, last: date = LAST) -> Path:
    start, end = window(last)
    ask = ReportAsk(kind="invoice", start=start, end=end, client_id="acme")
    return _pdf(root, prepare_report(root, ask))


def issue_invoice(root: DataRoot, *, keep_rules: bool = True) -> tuple[InvoiceEntry, Path]:
    """Issued as Operations issues it: figures and inputs hash over the reviewed timeline,
    the number, the entry (with the rules it was billed under, unless ``keep_rules`` is
    off: an entry as written before entries kept them); then printed from the entry."""
    start, end = window()
    journal = ReviewJournal(root)
    config = load_settings(root).config
    draft = InvoiceDraft(client_id="acme", project=None, start=start, end=end,
                         rate=Decimal("90"), currency="EUR")  # fmt: skip
    computed = compute_figures(root, config, draft, journal)
    entry = journal.issue_invoice(
        draft, figures=computed.figures, inputs_hash=computed.inputs_hash,
        timezone=computed.timezone, zone=computed.zone, author="tester",
        number_format="{year}-{seq:04d}",
        settings=config.review if keep_rules else None,
    )  # fmt: skip
    return entry, _pdf(root, prepare_issued(root, entry))


def pack_of(root: DataRoot, pdf_path: Path, target: Path, last: date = LAST) -> Path:
    """The pack exactly as Control's Reports view builds it from a PDF."""
    pdf = pdf_path.read_bytes()
    review, policy = reviewed_invoice(root, invoice_totals(pdf))
    source = PackSource(
        root=root, public_key_pem=host_public_key_path(root).read_bytes(), segments=[],
        policy=policy, window=window(last), client_id="acme", pdf=pdf, review=review,
    )  # fmt: skip
    write_pack(target, build_pack(source))
    return target
