"""Operations' writer of ``operations/review/adjustments.jsonl`` and ``invoices.jsonl``.

Both files are append-only JSON lines (one ``Adjustment`` / ``InvoiceEntry`` each), 0600 in
a 0700 folder, written only here: every entry is checked against the journal's current
state first (``review_checks``; a refusal writes nothing), then appended and fsynced
before it is answered. On open a torn last line is moved to a quarantine file beside it,
as the ledger does, so readers never see half an entry. Readers without Operations use
``mimolo.timeline.review_io``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir, open_private
from mimolo.errors import ReviewError
from mimolo.operations.jsonl_files import quarantine_torn_tail
from mimolo.operations.review_checks import (
    AdjustmentDraft,
    InvoiceDraft,
    active_locks,
    check_adjustment,
    check_revoke,
    check_unbilled,
    check_void,
    next_number,
)
from mimolo.protocol.review import (
    Adjustment,
    BillingFigures,
    InvoiceEntry,
    ReviewSettings,
)

log = logging.getLogger(__name__)

E = TypeVar("E", Adjustment, InvoiceEntry)


def review_dir(data_root: DataRoot) -> Path:
    return data_root.operations_dir / "review"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _load(path: Path, kind: type[E]) -> list[E]:
    """Every entry of ``path`` (a torn tail quarantined first); a bad line inside the file
    is an error, never skipped: the journal's state must be exactly what it says."""
    torn = quarantine_torn_tail(path)
    if torn:
        log.warning("%s: a torn last line (%d bytes) was quarantined", path, len(torn))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ReviewError(f"cannot read {path}: {exc}") from exc
    entries: list[E] = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(msgspec.json.decode(line, type=kind))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ReviewError(f"{path}: line {number} is not a valid entry ({exc})") from None
    return entries


def _append(path: Path, line: bytes) -> None:
    """Append one whole line and fsync it; a failed write is cut back off."""
    ensure_private_dir(path.parent)
    created = not path.exists()
    fd = open_private(path)
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)
            except OSError:
                log.warning("%s: could not cut back a failed write", path)
            raise ReviewError(f"cannot write {path.name}: {exc}") from exc
    finally:
        os.close(fd)
    if created:  # the new name itself must survive a crash
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class ReviewJournal:
    """The adjustments and invoice entries in force, and their only writer.

    ``clock`` and ``new_id`` are passed in so tests fix times and ids. Callers serialize
    mutations (the IPC handlers hold ``lock``); every method checks, then writes, then
    updates the in-memory state.
    """

    def __init__(
        self,
        data_root: DataRoot,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        folder = review_dir(data_root)
        self.adjustments_path = folder / "adjustments.jsonl"
        self.invoices_path = folder / "invoices.jsonl"
        self._clock = clock
        self._new_id = new_id
        self._adjustments = _load(self.adjustments_path, Adjustment)
        self._invoices = _load(self.invoices_path, InvoiceEntry)
        self.lock = asyncio.Lock()  # held by callers across check, compute and append

    @property
    def adjustments(self) -> Sequence[Adjustment]:
        return tuple(self._adjustments)

    @property
    def invoices(self) -> Sequence[InvoiceEntry]:
        return tuple(self._invoices)

    def locks(self) -> list[InvoiceEntry]:
        """The issued invoices in force (not voided)."""
        return active_locks(self._invoices)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _next_seq(self, entries: Sequence[Adjustment] | Sequence[InvoiceEntry]) -> int:
        return entries[-1].seq + 1 if entries else 1

    def _write_adjustment(self, entry: Adjustment) -> Adjustment:
        _append(self.adjustments_path, msgspec.json.encode(entry) + b"\n")
        self._adjustments.append(entry)
        return entry

    def _write_invoice(self, entry: InvoiceEntry) -> InvoiceEntry:
        _append(self.invoices_path, msgspec.json.encode(entry) + b"\n")
        self._invoices.append(entry)
        return entry

    def add_adjustment(
        self,
        draft: AdjustmentDraft,
        *,
        author: str,
        settings: ReviewSettings,
        is_known_client: Callable[[str], bool],
    ) -> Adjustment:
        """Check ``draft`` against the journal and append it (refused: nothing written)."""
        check_adjustment(draft, self._adjustments, self.locks(), settings, is_known_client)
        return self._write_adjustment(
            Adjustment(
                id=self._new_id(),
                seq=self._next_seq(self._adjustments),
                kind=draft.kind,
                reason=draft.reason.strip(),
                author=author,
                created_at=self._now(),
                start=_utc(draft.start),
                end=_utc(draft.end),
                assign=draft.assign,
                split_at=_utc(draft.split_at),
            )
        )

    def revoke_adjustment(
        self, target_id: str, reason: str, *, author: str, settings: ReviewSettings
    ) -> Adjustment:
        """Append a ``revoke`` of ``target_id`` (unknown, already revoked, locked: refused)."""
        target = check_revoke(target_id, reason, self._adjustments, self.locks(), settings)
        return self._write_adjustment(
            Adjustment(
                id=self._new_id(),
                seq=self._next_seq(self._adjustments),
                kind="revoke",
                reason=reason.strip(),
                author=author,
                created_at=self._now(),
                revokes=target.id,
            )
        )

    def issue_invoice(
        self,
        draft: InvoiceDraft,
        *,
        figures: BillingFigures,
        inputs_hash: str,
        timezone: str,
        zone: tzinfo,
        author: str,
        number_format: str,
        settings: ReviewSettings | None = None,
    ) -> InvoiceEntry:
        """Allocate the next number of this year (in ``zone``) and append the entry, with
        the rules, default and parties of ``settings`` (the review config it was billed
        under) kept in it."""
        check_unbilled(draft, self.locks())
        now = self._now()
        year = now.astimezone(zone).year
        number, _ = next_number(self._invoices, year, number_format)
        return self._write_invoice(
            InvoiceEntry(
                id=self._new_id(),
                seq=self._next_seq(self._invoices),
                kind="issued",
                author=author,
                created_at=now,
                number=number,
                year=year,
                client_id=draft.client_id,
                project=draft.project,
                start=draft.start.astimezone(UTC),
                end=draft.end.astimezone(UTC),
                timezone=timezone,
                figures=figures,
                inputs_hash=inputs_hash,
                **_snapshot(settings, draft.client_id),
            )
        )

    def void_invoice(self, invoice_id: str, reason: str, *, author: str) -> InvoiceEntry:
        """Append a ``voided`` entry lifting the lock of ``invoice_id``."""
        target = check_void(invoice_id, reason, self._invoices)
        return self._write_invoice(
            InvoiceEntry(
                id=self._new_id(),
                seq=self._next_seq(self._invoices),
                kind="voided",
                author=author,
                created_at=self._now(),
                reason=reason.strip(),
                number=target.number,
                year=target.year,
                client_id=target.client_id,
                project=target.project,
                start=target.start,
                end=target.end,
                timezone=target.timezone,
                voids=target.id,
            )
        )


def _snapshot(settings: ReviewSettings | None, client_id: str) -> dict[str, Any]:
    """The part of the review config an issued entry keeps (nothing without one)."""
    if settings is None:
        return {}
    client = settings.clients.get(client_id)
    return {
        "rules": settings.rules,
        "default": settings.default,
        "seller": settings.seller,
        "bill_to": client.bill_to if client is not None else "",
    }


__all__ = ["ReviewJournal", "review_dir"]
