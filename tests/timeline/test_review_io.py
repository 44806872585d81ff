"""The review journals read without Operations: torn and bad lines are skipped, warned."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec
import pytest

from mimolo.dataroot import DataRoot, write_atomic
from mimolo.protocol.review import Adjustment, InvoiceEntry
from mimolo.timeline.review_io import (
    adjustments_path,
    invoices_path,
    parse_journal,
    read_adjustments,
    read_invoices,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _adj(seq: int) -> Adjustment:
    return Adjustment(
        id=f"{seq:032x}",
        seq=seq,
        kind="exclude_range",
        reason="lunch",
        author="me",
        created_at=T0,
        start=T0,
        end=T0.replace(hour=10),
    )


def test_missing_journals_are_empty(tmp_path: object) -> None:
    root = DataRoot.resolve(str(tmp_path))
    assert read_adjustments(root) == []
    assert read_invoices(root) == []
    assert adjustments_path(root) == root.operations_dir / "review" / "adjustments.jsonl"
    assert invoices_path(root) == root.operations_dir / "review" / "invoices.jsonl"


def test_torn_last_line_and_bad_lines_are_skipped(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    root = DataRoot.resolve(str(tmp_path)).ensure()
    lines = [msgspec.json.encode(_adj(1)), b'{"id": "broken"}', msgspec.json.encode(_adj(2))]
    torn = msgspec.json.encode(_adj(3))[:40]
    path = adjustments_path(root)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(path, b"\n".join(lines) + b"\n\n" + torn)
    with caplog.at_level(logging.WARNING, logger="mimolo.timeline.review_io"):
        got = read_adjustments(root)
    assert [a.seq for a in got] == [1, 2]
    assert ":2: skipped" in caplog.text
    assert ":5: torn last line" in caplog.text


def test_invoice_entries_round_trip() -> None:
    entry = InvoiceEntry(
        id="a" * 32, seq=1, kind="voided", author="me", created_at=T0, voids="b" * 32
    )
    got, warnings = parse_journal(msgspec.json.encode(entry) + b"\n", InvoiceEntry)
    assert got == [entry] and warnings == []
