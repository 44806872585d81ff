"""The evidence ledger: summary records only, wrapped, hash-chained, in daily files, with
group commit.

``append`` only buffers (it is called for every summary on the event loop); ``commit``
writes the whole batch with one ``write`` per day file, and ``run`` commits and fsyncs every
``fsync_interval_s`` (default 200 ms) so every record older than the last fsync survives a
crash. ``seq`` keeps increasing across restarts: ``open`` recovers it from the newest file
after quarantining a torn tail.

Every line carries its chain link (``protocol.chain``): ``prev`` and ``hash``, across day
files, in file order (a record never goes into an earlier day's file than the one before
it, even if the clock steps back). With a host key, signed checkpoints go beside the day
files: ``chain_start`` when a ledger without links (or a new one) starts its chain,
``chain_resume`` at every start after the first (naming any quarantined torn tail),
``day_close`` once a day's records are durable and a later day has begun, ``shutdown``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import LedgerError
from mimolo.operations.checkpoints import CheckpointWriter
from mimolo.operations.host_key import HostKey
from mimolo.operations.jsonl_files import DailyBatchWriter, last_line, quarantine_torn_tail
from mimolo.protocol.chain import ZERO_HASH, chain_line, parse_link
from mimolo.protocol.evidence import wrap_summary

log = logging.getLogger(__name__)


class LedgerRecovery(msgspec.Struct, frozen=True):
    """What ``open`` found: the last seq on disk and any torn tails it quarantined."""

    last_seq: int
    quarantined: list[str]
    last_hash: str = ZERO_HASH


class _RecordIds:
    """Random 128-bit record ids (32 hex), drawn from a pooled ``os.urandom`` (one
    syscall per 512 ids: ``uuid4`` was a tenth of the ingest path's cost)."""

    _POOL = 512 * 16

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def next(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(self._POOL), 0
        at = self._at
        self._at = at + 16
        return self._pool[at : at + 16].hex()


class _SeqOnly(msgspec.Struct):
    seq: int


def _day_of(path: Path) -> date:
    name = path.name[:8]
    return date(int(name[:4]), int(name[4:6]), int(name[6:8]))


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
        host_key: HostKey | None = None,
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
        self._hash = ZERO_HASH  # hash of the last record appended
        self._ids = _RecordIds()
        self._day: date | None = None  # day file of the last record appended
        self._closing: list[tuple[date, int, str]] = []  # days to seal once durable
        self._checkpoints = (
            CheckpointWriter(data_root, host_key, host=self.host) if host_key else None
        )

    @property
    def last_hash(self) -> str:
        return self._hash

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
        """Quarantine torn tails of the newest files, recover the last seq and hash, and
        sign where the chain (re)starts."""
        files = evidence_files(self.data_root)
        torn = [(p, quarantine_torn_tail(p)) for p in files[-2:]]
        torn = [(p, data) for p, data in torn if data]
        self._seq, self._hash, self._day, chained = 0, ZERO_HASH, None, True
        for path in reversed(files):
            line = last_line(path)
            if line is None:
                continue
            try:
                self._seq = msgspec.json.decode(line, type=_SeqOnly).seq
            except msgspec.DecodeError as exc:
                raise LedgerError(f"{path}: last record has no readable seq: {exc}") from exc
            link = parse_link(line)
            chained = link is not None
            self._hash = link.hash if link is not None else ZERO_HASH
            self._day = _day_of(path)
            break
        self._opened = True
        self._written_seq = self.durable_seq = self._seq
        self._sign_start(chained, torn)
        return LedgerRecovery(
            last_seq=self._seq, quarantined=[str(p) for p, _ in torn], last_hash=self._hash
        )

    def _sign_start(self, chained: bool, torn: list[tuple[Path, bytes]]) -> None:
        if self._checkpoints is None:
            return
        day = self._day or datetime.now(UTC).date()
        if not chained:
            # a ledger written before the chain existed: the chain starts after its last seq
            self._checkpoints.write("chain_start", day, self._seq, ZERO_HASH)
            return
        if self._seq == 0:
            return
        latest = self._checkpoints.latest(day)
        clean = latest is not None and latest.get("seq") == self._seq and not torn
        if clean and latest is not None and latest.get("hash") == self._hash:
            return
        quarantined = [
            {"file": p.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for p, data in torn
        ]
        self._checkpoints.write("chain_resume", day, self._seq, self._hash, quarantined=quarantined)

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
        day = received_at.astimezone(UTC).date()
        if self._day is None or day > self._day:
            if self._day is not None and self._seq > 0:
                self._closing.append((self._day, self._seq, self._hash))
            self._day = day
        self._seq += 1
        body = wrap_summary(
            seq=self._seq,
            record_id=self._ids.next(),
            received_at=received_at,
            plugin_id=plugin_id,
            instance_id=instance_id,
            instance_label=instance_label,
            host=self.host,
            raw_summary=raw_summary,
        )
        line, self._hash = chain_line(body, self._hash)
        if self._batch.add(self._day, line) >= self.max_pending:
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
        self._seal_closed_days()

    def _seal_closed_days(self) -> None:
        """Sign ``day_close`` for every finished day whose records are all durable."""
        while self._closing and self._closing[0][1] <= self.durable_seq:
            day, seq, hashed = self._closing.pop(0)
            if self._checkpoints is not None:
                self._checkpoints.write("day_close", day, seq, hashed)

    async def run(self) -> None:
        """Group commit until cancelled: commit + fsync every interval, and on the way out."""
        try:
            while True:
                await asyncio.sleep(self.fsync_interval_s)
                self.commit()
                written = self._written_seq
                await self._batch.sync_off_loop()
                self.durable_seq = written
                if self._closing:
                    self._seal_closed_days()
        finally:
            self.close()

    def close(self) -> None:
        """Commit, fsync, seal and close (shutdown path)."""
        self._batch.close()
        self.durable_seq = self._written_seq
        self._seal_closed_days()
        if self._checkpoints is not None and self._day is not None and self._seq > 0:
            latest = self._checkpoints.latest(self._day)
            if latest is None or latest.get("seq") != self._seq:
                self._checkpoints.write("shutdown", self._day, self._seq, self._hash)


__all__ = ["Ledger", "LedgerRecovery", "evidence_files"]
