"""Diagnostics: everything an agent or Operations says that is not evidence.

Records are ``{ts, kind, instance_id?, level?, ...}`` lines in daily files
(``operations/diagnostics/YYYYMMDD.diagnostics.jsonl``). Kinds: ``heartbeat``, ``status``,
``error``, ``log``, ``ack``, ``stderr``, ``rejected_line``, ``unknown_message``,
``lifecycle``, ``policy``, ``drops``, ``audit``. Text fields are bounded; when the writer
falls behind, records are dropped and counted (diagnostics are never evidence). Files older
than the retention are removed on start and once a day. ``drops`` records are
``essential``: they are queued even when the queue is full (their senders aggregate them,
so they stay few), so a count of what was lost is never itself lost.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.operations.jsonl_files import DailyBatchWriter, recover_torn_tail

log = logging.getLogger(__name__)

Level = Literal["debug", "info", "warning", "error"]
MAX_TEXT = 4096
TAIL_KEEP = 1000
_FILE_RE = re.compile(r"^(\d{8})\.diagnostics(?:\.quarantine)?\.jsonl$")
_encoder = msgspec.json.Encoder()


def bound_text(text: str, limit: int = MAX_TEXT) -> str:
    """Cut ``text`` to ``limit`` characters, saying so."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def _bounded(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return bound_text(value)
    if depth > 4:
        return bound_text(repr(value))
    if isinstance(value, dict):
        return {str(k)[:200]: _bounded(v, depth + 1) for k, v in list(value.items())[:100]}
    if isinstance(value, (list, tuple)):
        return [_bounded(v, depth + 1) for v in list(value)[:100]]
    return value


class DiagnosticsAPI(Protocol):
    """Diagnostics as its users see it (the widget bridge, the IPC server): write one
    record, read the live tail. ``Diagnostics`` is one; tests pass fakes."""

    def record(
        self, kind: str, *, instance_id: str | None = None, level: Any = None, **fields: Any
    ) -> None: ...

    def tail(self, limit: int = 200, *, instance_id: str | None = None) -> list[dict[str, Any]]: ...


def remove_expired(data_root: DataRoot, retention_days: int, today: date) -> list[Path]:
    """Delete diagnostics files older than ``retention_days`` before ``today``."""
    cutoff = today - timedelta(days=retention_days)
    removed: list[Path] = []
    if not data_root.diagnostics_dir.is_dir():
        return removed
    for path in data_root.diagnostics_dir.iterdir():
        match = _FILE_RE.match(path.name)
        if not match:
            continue
        try:
            day = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            continue
        if day < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class Diagnostics:
    """Buffered diagnostics writer with an in-memory tail for live views."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        retention_days: int = 30,
        flush_interval_s: float = 0.5,
        max_pending: int = 20_000,
    ) -> None:
        self.data_root = data_root
        self.retention_days = retention_days
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self._batch = DailyBatchWriter(data_root.diagnostics_file, on_commit=self._committed)
        self._tail: collections.deque[dict[str, Any]] = collections.deque(maxlen=TAIL_KEEP)
        self._last_retention_day: date | None = None
        self.dropped = 0  # since the last drops record
        self.dropped_total = 0  # since start, for get_status
        self.written = 0

    def open(self) -> list[Path]:
        """Recover a torn tail and apply retention; returns the files removed."""
        files = sorted(self.data_root.diagnostics_dir.glob("*.diagnostics.jsonl"))
        for path in files[-2:]:
            recover_torn_tail(path)
        return self._apply_retention(datetime.now(UTC).date())

    def _apply_retention(self, today: date) -> list[Path]:
        self._last_retention_day = today
        removed = remove_expired(self.data_root, self.retention_days, today)
        if removed:
            log.info("diagnostics retention removed %d file(s)", len(removed))
        return removed

    def record(
        self,
        kind: str,
        *,
        instance_id: str | None = None,
        level: Level | None = None,
        essential: bool = False,
        **fields: Any,
    ) -> None:
        """Queue one record (never raises for content; drops and counts when full).

        ``essential`` records (counts of what was dropped) are queued even when full.
        """
        if self._batch.pending_count >= self.max_pending and not essential:
            self.dropped += 1
            self.dropped_total += 1
            return
        now = datetime.now(UTC)
        rec: dict[str, Any] = {"ts": now.isoformat().replace("+00:00", "Z"), "kind": kind}
        if instance_id is not None:
            rec["instance_id"] = instance_id
        if level is not None:
            rec["level"] = level
        for key, value in fields.items():
            rec[key] = _bounded(value)
        try:
            line = _encoder.encode(rec) + b"\n"
        except (TypeError, msgspec.EncodeError):
            rec = {
                k: v if isinstance(v, (str, int, float, bool)) else repr(v) for k, v in rec.items()
            }
            line = _encoder.encode(rec) + b"\n"
        self._batch.add(now.date(), line)
        self._tail.append(rec)

    def tail(self, limit: int = 200, *, instance_id: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` records kept in memory (optionally of one instance)."""
        items = [
            r for r in self._tail if instance_id is None or r.get("instance_id") == instance_id
        ]
        return items[-limit:] if limit > 0 else []

    def commit(self) -> int:
        """Write pending records, one write per day file."""
        return self._batch.commit()

    def _committed(self, count: int) -> None:
        self.written += count

    async def run(self) -> None:
        """Write batches until cancelled; apply retention when the UTC day changes."""
        try:
            while True:
                await asyncio.sleep(self.flush_interval_s)
                if self.dropped:
                    dropped, self.dropped = self.dropped, 0
                    self.record(
                        "drops",
                        level="warning",
                        essential=True,
                        what="diagnostics",
                        count=dropped,
                        total=self.dropped_total,
                    )
                self.commit()
                await self._batch.sync_off_loop()
                today = datetime.now(UTC).date()
                if today != self._last_retention_day:
                    await asyncio.to_thread(self._apply_retention, today)
        finally:
            self.close()

    def close(self) -> None:
        """Write, fsync and close."""
        self._batch.close()


__all__ = ["Diagnostics", "DiagnosticsAPI", "Level", "bound_text", "remove_expired"]
