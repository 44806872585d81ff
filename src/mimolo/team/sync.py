"""The shipper: one data root's ledger, checkpoints and review files into the team store.

Records travel in bounded batches, each one transaction: COPY into a temp staging table,
``INSERT … SELECT … ON CONFLICT DO NOTHING`` into ``mimolo.records``, the batch's chain
breaks, and the host's ``sync_state`` moved on — all or nothing, so a shipper killed at
any point resumes from the store's acknowledged seq with no duplicates and no gaps. The
host's row lock on ``sync_state`` makes two shippers of one host take turns. Each batch is
checked on arrival against the hash the store holds for the record before it
(``arrival``); breaks are flagged, records are never dropped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import psycopg

from mimolo.dataroot import DataRoot
from mimolo.errors import TeamStoreError
from mimolo.evidence.layout import load_public_key
from mimolo.operations.host_key import host_public_key_path
from mimolo.protocol.chain import key_id, signature_ok
from mimolo.team.arrival import (
    Checked,
    Row,
    Tip,
    check_batch,
    months_of,
    start_tip,
)
from mimolo.team.batch_sql import STAGING_DDL, insert_rows
from mimolo.team.connect import Conn, as_team_error, connect
from mimolo.team.local_files import (
    LedgerReader,
    checkpoint_entries,
    local_tip,
    review_kinds,
    review_lines,
)
from mimolo.team.schema import require_current

log = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
SCHEMA_NEEDED = 2  # the summary columns (0002)


class Acknowledged(NamedTuple):
    """What the store holds for this host."""

    seq: int
    hash: str | None
    received_at: datetime | None


class BatchResult(NamedTuple):
    lines: int  # ledger lines read and sent
    stored: int  # rows new to the store (a replay stores fewer)
    breaks: int
    acked_seq: int


@dataclass
class PassResult:
    """What one pass shipped."""

    batches: int = 0
    records: int = 0
    breaks: int = 0
    checkpoints: int = 0
    review_entries: int = 0
    acked_seq: int = 0
    local_seq: int = 0
    caught_up: bool = False
    results: list[BatchResult] = field(default_factory=list)


def host_identity(data_root: DataRoot) -> tuple[str, bytes]:
    """This machine's host id (its host key's id) and raw public key."""
    path = host_public_key_path(data_root)
    try:
        raw = load_public_key(path)
    except FileNotFoundError as exc:
        raise TeamStoreError(
            f"{path} is missing: start `mimolo ops` once so Operations makes its host key",
            code="team_host_unknown",
        ) from exc
    except (OSError, ValueError) as exc:
        raise TeamStoreError(f"{path}: {exc}", code="team_host_unknown") from exc
    return key_id(raw), raw


class Shipper:
    """Ships one data root to one store. Not thread-safe: one pass at a time."""

    def __init__(
        self,
        data_root: DataRoot,
        conninfo: str,
        *,
        batch_size: int = DEFAULT_BATCH,
        connector: Callable[[str], Conn] = connect,
    ) -> None:
        if batch_size < 1:
            raise TeamStoreError("batch_size must be at least 1", code="team_store_failed")
        self.data_root = data_root
        self.conninfo = conninfo
        self.batch_size = batch_size
        self.host_id, self._public_raw = host_identity(data_root)
        self._connector = connector
        self._conn: Conn | None = None
        self._reader = LedgerReader(data_root.evidence_dir)
        self._months: set[tuple[int, int]] = set()
        self._known_checkpoints: set[str] = set()

    # ---- the connection -----------------------------------------------------------------

    def _connection(self) -> Conn:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = self._connector(self.conninfo)
        try:
            require_current(conn, SCHEMA_NEEDED)
            row = conn.execute("SELECT mimolo.writer_host_id()").fetchone()
            writes_for = row[0] if row else None
            if writes_for != self.host_id:
                who = conn.info.user
                raise TeamStoreError(
                    f"role {who} writes for {writes_for or 'no host'}, but this machine is "
                    f"host {self.host_id}: register it with `mimolo team add-host`",
                    code="team_host_unknown",
                )
            conn.execute(STAGING_DDL)
            conn.execute(
                "INSERT INTO mimolo.sync_state (host_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.host_id,),
            )
            conn.commit()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def backend_pid(self) -> int:
        """The store's server process for this shipper's session (for diagnostics)."""
        try:
            return self._connection().info.backend_pid
        except (psycopg.Error, OSError) as exc:
            raise self._fail(exc) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _fail(self, exc: BaseException) -> TeamStoreError:
        """Drop the connection (the next call reconnects) and say what went wrong."""
        self.close()
        self._reader.forget()
        return as_team_error(exc)

    # ---- records ------------------------------------------------------------------------

    def acknowledged(self) -> Acknowledged:
        """The last record the store holds for this host."""
        try:
            conn = self._connection()
            row = conn.execute(
                "SELECT last_seq, last_hash, last_received_at FROM mimolo.sync_state"
                " WHERE host_id = %s",
                (self.host_id,),
            ).fetchone()
            conn.commit()
        except (psycopg.Error, OSError) as exc:
            raise self._fail(exc) from exc
        return Acknowledged(*row) if row else Acknowledged(0, None, None)

    def _ensure_months(self, conn: Conn, rows: list[Row]) -> None:
        for year, month in sorted(months_of(rows) - self._months):
            with conn.transaction():
                conn.execute(
                    "SELECT mimolo.ensure_month(%s)", (datetime(year, month, 1, tzinfo=UTC),)
                )
            self._months.add((year, month))

    def _stored_hash(self, conn: Conn, seq: int) -> str | None:
        with conn.transaction():  # its own: the batch's transaction must be the outermost
            row = conn.execute(
                "SELECT hash FROM mimolo.records WHERE host_id = %s AND seq = %s LIMIT 1",
                (self.host_id, seq),
            ).fetchone()
        return row[0] if row else None

    def ship_batch(self, *, after_seq: int | None = None) -> BatchResult:
        """One batch after the acknowledged seq (or after ``after_seq``: a replay of
        records the store may hold already). ``lines == 0``: nothing to ship."""
        try:
            conn = self._connection()
            acked = self.acknowledged()
            start = acked.seq if after_seq is None else after_seq
            lines = self._reader.read(start, self.batch_size)
            if not lines:
                conn.commit()
                return BatchResult(0, 0, 0, acked.seq)
            if start == acked.seq:
                tip = start_tip(acked.seq, acked.hash)
            else:
                tip = start_tip(start, self._stored_hash(conn, start))
            checked = check_batch(self.host_id, lines, tip)
            self._ensure_months(conn, checked.rows)
            with conn.transaction():
                done = self._store(conn, checked, acked, start)
        except (psycopg.Error, OSError) as exc:
            raise self._fail(exc) from exc
        if done is None:  # another shipper of this host moved on since this was read
            self._reader.forget()
            return BatchResult(0, 0, 0, -1)
        tip_seq = max(acked.seq, checked.tip.seq)
        return BatchResult(len(lines), done[0], done[1], tip_seq)

    def _store(
        self, conn: Conn, checked: Checked, acked: Acknowledged, start: int
    ) -> tuple[int, int] | None:
        """Store a checked batch under the host's ``sync_state`` row lock: rows new to the
        store and breaks flagged; None (nothing stored) when the acknowledged seq is no
        longer the one the batch was read after."""
        locked = conn.execute(
            "SELECT last_seq FROM mimolo.sync_state WHERE host_id = %s FOR UPDATE",
            (self.host_id,),
        ).fetchone()
        if locked is None or locked[0] != acked.seq:
            return None
        with conn.cursor() as cur:
            stored, breaks = insert_rows(cur, self.host_id, checked.rows, checked.breaks)
        tip = checked.tip
        forward = tip.seq >= acked.seq and start == acked.seq
        conn.execute(
            "UPDATE mimolo.sync_state SET records = records + %s, updated_at = now(),"
            " last_seq = CASE WHEN %s THEN %s ELSE last_seq END,"
            " last_hash = CASE WHEN %s THEN %s ELSE last_hash END,"
            " last_received_at = CASE WHEN %s THEN %s ELSE last_received_at END"
            " WHERE host_id = %s",
            (
                stored, forward, tip.seq, forward, tip.hash, forward,
                checked.last_received_at, self.host_id,
            ),
        )  # fmt: skip
        return stored, breaks

    # ---- checkpoints and review files ---------------------------------------------------

    def ship_checkpoints(self) -> int:
        """Checkpoint entries the store lacks (days from the newest it has on)."""
        try:
            conn = self._connection()
            row = conn.execute(
                "SELECT max(day) FROM mimolo.checkpoints WHERE host_id = %s", (self.host_id,)
            ).fetchone()
            since: date | None = row[0] if row else None
            rows = []
            for entry in checkpoint_entries(self.data_root.evidence_dir, since):
                if entry.entry_hash in self._known_checkpoints:
                    continue
                values = _checkpoint_row(self.host_id, self._public_raw, entry.day, entry.doc)
                if values is not None:
                    rows.append((entry.entry_hash, values))
            if rows:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO mimolo.checkpoints (host_id, entry_hash, day, kind, seq,"
                        " hash, signed_at, key_id, signature_ok, doc)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT DO NOTHING",
                        [(self.host_id, h, *values) for h, values in rows],
                    )
            conn.commit()
        except (psycopg.Error, OSError) as exc:
            raise self._fail(exc) from exc
        self._known_checkpoints.update(h for h, _ in rows)
        return len(rows)

    def ship_review(self) -> int:
        """Lines of ``operations/review/*.jsonl`` after the last line the store has."""
        review_dir = self.data_root.operations_dir / "review"
        kinds = review_kinds(review_dir)
        if not kinds:
            return 0
        try:
            conn = self._connection()
            done: dict[str, int] = dict(
                conn.execute(
                    "SELECT kind, max(line_no) FROM mimolo.review_entries WHERE host_id = %s"
                    " GROUP BY kind",
                    (self.host_id,),
                ).fetchall()
            )
            rows = []
            for kind in kinds:
                for entry in review_lines(review_dir, kind, int(done.get(kind) or 0)):
                    doc = json.dumps(entry.doc) if entry.doc is not None else None
                    rows.append((self.host_id, kind, entry.id, entry.line_no, doc, entry.line))
            if rows:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO mimolo.review_entries (host_id, kind, id, line_no, doc,"
                        " line) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        rows,
                    )
            conn.commit()
        except (psycopg.Error, OSError) as exc:
            raise self._fail(exc) from exc
        return len(rows)

    # ---- a pass -------------------------------------------------------------------------

    def local_seq(self) -> int:
        return local_tip(self.data_root.evidence_dir)

    def run_pass(
        self,
        *,
        stop: threading.Event | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        max_batches: int | None = None,
    ) -> PassResult:
        """Batches until caught up (or stopped), then checkpoints and review files."""
        result = PassResult()
        while stop is None or not stop.is_set():
            if max_batches is not None and result.batches >= max_batches:
                break
            batch = self.ship_batch()
            if batch.acked_seq < 0:
                continue  # another shipper of this host moved on: read from its seq
            result.acked_seq = batch.acked_seq
            if batch.lines == 0:
                result.caught_up = True
                break
            result.batches += 1
            result.records += batch.stored
            result.breaks += batch.breaks
            result.results.append(batch)
            if on_batch is not None:
                on_batch(batch)
        if stop is None or not stop.is_set():
            result.checkpoints = self.ship_checkpoints()
            result.review_entries = self.ship_review()
        result.local_seq = self.local_seq()
        return result


def _checkpoint_row(
    host_id: str, public_raw: bytes, day: date, doc: dict[str, Any]
) -> tuple[Any, ...] | None:
    """The columns of a checkpoint entry after its key, or None when it is not one."""
    kind, seq, hashed, kid = doc.get("kind"), doc.get("seq"), doc.get("hash"), doc.get("key_id")
    if not (isinstance(kind, str) and isinstance(seq, int) and isinstance(hashed, str)):
        return None
    signed_at = None
    if isinstance(doc.get("time"), str):
        try:
            signed_at = datetime.fromisoformat(doc["time"])
        except ValueError:
            signed_at = None
    ok = kid == host_id and signature_ok(doc, public_raw)
    return (day, kind, seq, hashed, signed_at, str(kid or ""), ok, json.dumps(doc))


__all__ = [
    "DEFAULT_BATCH",
    "Acknowledged",
    "BatchResult",
    "PassResult",
    "Shipper",
    "Tip",
    "host_identity",
]
