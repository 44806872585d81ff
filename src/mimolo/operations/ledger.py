"""The evidence ledger: summary records only, wrapped, in daily files, with group commit.

``append`` only buffers (it is called for every summary on the event loop); ``commit``
writes the whole batch with one ``write`` per day file, and ``run`` commits and fsyncs every
``fsync_interval_s`` (default 200 ms) so every record older than the last fsync survives a
crash. ``seq`` keeps increasing across restarts: ``open`` recovers it from the newest file
after quarantining a torn tail.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import LedgerError
from mimolo.operations.jsonl_files import DailyBatchWriter, last_line, recover_torn_tail
from mimolo.protocol.evidence import wrap_summary

log = logging.getLogger(__name__)


class LedgerRecovery(msgspec.Struct, frozen=True):
    """What ``open`` found: the last seq on disk and any torn tails it quarantined."""

    last_seq: int
    quarantined: list[str]


class _SeqOnly(msgspec.Struct):
    seq: int


def evidence_files(data_root: DataRoot) -> list[Path]:
    """Every daily evidence file, oldest first."""
    files = data_root.evidence_dir.glob("[0-9][0-9][0-9][0-9]/*.evidence.jsonl")
    return sorted(files, key=lambda p: p.name)


class Ledger:
    """Append-only evidence writer for one data root (one per Operations)."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        fsync_interval_s: float = 0.2,
        host: str | None = None,
        max_pending: int = 50_000,
    ) -> None:
        self.data_root = data_root
        self.fsync_interval_s = fsync_interval_s
        self.host = host or socket.gethostname()
        self.max_pending = max_pending
        self._batch = DailyBatchWriter(data_root.evidence_file, on_commit=self._committed)
        self._seq = 0
        self._opened = False
        self._room = asyncio.Event()
        self._room.set()
        self.records_written = 0
        self._written_seq = 0  # seq of the last record written (not yet necessarily synced)
        self.durable_seq = 0  # seq of the last record written and fsynced

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def pending_count(self) -> int:
        return self._batch.pending_count

    @property
    def syncs(self) -> int:
        """fsync rounds so far (each made at least one write durable)."""
        return self._batch.syncs

    def open(self) -> LedgerRecovery:
        """Quarantine torn tails of the newest files and recover the last seq."""
        files = evidence_files(self.data_root)
        quarantined = [str(p) for p in files[-2:] if recover_torn_tail(p) > 0]
        self._seq = 0
        for path in reversed(files):
            line = last_line(path)
            if line is None:
                continue
            try:
                self._seq = msgspec.json.decode(line, type=_SeqOnly).seq
            except msgspec.DecodeError as exc:
                raise LedgerError(f"{path}: last record has no readable seq: {exc}") from exc
            break
        self._opened = True
        self._written_seq = self.durable_seq = self._seq
        return LedgerRecovery(last_seq=self._seq, quarantined=quarantined)

    def append(
        self,
        *,
        plugin_id: str,
        instance_id: str,
        instance_label: str,
        raw_summary: bytes,
        received_at: datetime | None = None,
    ) -> int:
        """Buffer one validated summary line; return its seq (durable after the next sync)."""
        if not self._opened:
            raise LedgerError("ledger is not open")
        received_at = received_at or datetime.now(UTC)
        self._seq += 1
        line = wrap_summary(
            seq=self._seq,
            record_id=uuid.uuid4().hex,
            received_at=received_at,
            plugin_id=plugin_id,
            instance_id=instance_id,
            instance_label=instance_label,
            host=self.host,
            raw_summary=raw_summary,
        )
        if self._batch.add(received_at.astimezone(UTC).date(), line) >= self.max_pending:
            self._room.clear()
        return self._seq

    async def wait_for_room(self) -> None:
        """Back-pressure: readers pause here while the pending batch is full."""
        await self._room.wait()

    def commit(self) -> int:
        """Write the pending batch: one write per day file. Returns the record count."""
        return self._batch.commit()

    def _committed(self, count: int) -> None:
        self.records_written += count
        self._written_seq = self._seq
        self._room.set()

    def sync(self) -> None:
        """fsync what has been written (on the caller's thread)."""
        written = self._written_seq
        self._batch.sync()
        self.durable_seq = written

    async def run(self) -> None:
        """Group commit until cancelled: commit + fsync every interval, and on the way out."""
        try:
            while True:
                await asyncio.sleep(self.fsync_interval_s)
                self.commit()
                written = self._written_seq
                await self._batch.sync_off_loop()
                self.durable_seq = written
        finally:
            self.close()

    def close(self) -> None:
        """Commit, fsync and close (shutdown path)."""
        self._batch.close()
        self.durable_seq = self._written_seq


__all__ = ["Ledger", "LedgerRecovery", "evidence_files"]
