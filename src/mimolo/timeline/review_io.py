"""Reading the review journals without Operations (DESIGN §2, §6).

Operations appends one JSON object per line to ``operations/review/adjustments.jsonl`` and
``invoices.jsonl``; readers (the timeline, reports, Control) read them like the ledger: a
torn last line (a write in progress, a crash) or a line that does not decode is skipped
with a warning, never an error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeVar

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.review import Adjustment, InvoiceEntry

logger = logging.getLogger(__name__)

T = TypeVar("T", Adjustment, InvoiceEntry)


def review_dir(root: DataRoot) -> Path:
    return root.operations_dir / "review"


def adjustments_path(root: DataRoot) -> Path:
    return review_dir(root) / "adjustments.jsonl"


def invoices_path(root: DataRoot) -> Path:
    return review_dir(root) / "invoices.jsonl"


def parse_journal(data: bytes, kind: type[T], path: str = "") -> tuple[list[T], list[str]]:
    """Entries of journal bytes, in file order, and a warning per line not used."""
    decoder = msgspec.json.Decoder(kind)
    out: list[T] = []
    warnings: list[str] = []
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(decoder.decode(line))
        except (msgspec.DecodeError, ValueError) as exc:
            warnings.append(f"{path}:{number}: skipped: {exc}")
    if torn.strip():
        warnings.append(f"{path}:{len(lines) + 1}: torn last line (no newline) skipped")
    return out, warnings


def _read(path: Path, kind: type[T]) -> list[T]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries, warnings = parse_journal(data, kind, str(path))
    for warning in warnings:
        logger.warning("%s", warning)
    return entries


def read_adjustments(root: DataRoot) -> list[Adjustment]:
    """Every adjustment in the journal (missing file: none)."""
    return _read(adjustments_path(root), Adjustment)


def read_invoices(root: DataRoot) -> list[InvoiceEntry]:
    """Every invoice entry, issued and voided (missing file: none)."""
    return _read(invoices_path(root), InvoiceEntry)


__all__ = [
    "adjustments_path",
    "invoices_path",
    "parse_journal",
    "read_adjustments",
    "read_invoices",
    "review_dir",
]
