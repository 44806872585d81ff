"""Storing one checked batch: COPY into the session's staging table, then into
``mimolo.records`` — inside the shipper's transaction, under the host's row lock.

``records`` is keyed by ``(host_id, seq, received_at)``: PostgreSQL wants the partition
key in every unique index of a partitioned table, so the key alone does not stop a second
row at a seq the store holds under another time. The shipper keeps ``(host_id, seq)``
unique itself: when the store already holds any seq of the batch's range (a replay, a
batch stored past the acknowledged seq), those staged rows are dropped first and flagged
``rewritten`` when their bytes differ; a batch that repeats a seq keeps its first row. A
batch of strictly rising seqs that the store holds none of — the normal case — goes in
with a plain ``INSERT … SELECT``, skipping the speculative insertion ``ON CONFLICT`` pays.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import psycopg
from psycopg import sql

from mimolo.team.arrival import ROW_COLUMNS, Break, Row
from mimolo.team.copy_text import copy_buffer

STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS mimolo_staging"
    " (LIKE mimolo.records INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_COLS = sql.SQL(", ").join(sql.Identifier(c) for c in ROW_COLUMNS)
_COPY = sql.SQL("COPY pg_temp.mimolo_staging ({}) FROM STDIN").format(_COLS)
_INSERT_NEW = sql.SQL(
    "INSERT INTO mimolo.records ({0}) SELECT {0} FROM pg_temp.mimolo_staging"
).format(_COLS)
_INSERT = sql.SQL("{} ON CONFLICT DO NOTHING").format(_INSERT_NEW)
_HELD = (
    "SELECT EXISTS (SELECT 1 FROM mimolo.records WHERE host_id = %s AND seq >= %s AND seq <= %s)"
)
_DROP_HELD = (
    "DELETE FROM pg_temp.mimolo_staging s USING mimolo.records r"
    " WHERE r.host_id = s.host_id AND r.seq = s.seq"
    " RETURNING s.seq, r.hash, s.hash"
)
_DROP_REPEATS = (
    "DELETE FROM pg_temp.mimolo_staging s USING pg_temp.mimolo_staging t"
    " WHERE s.seq = t.seq AND s.ctid > t.ctid"
    " RETURNING s.seq, t.hash, s.hash"
)
_BREAK = (
    "INSERT INTO mimolo.chain_breaks (host_id, seq, kind, detail, expected, found, line)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def rising(rows: list[Row]) -> bool:
    """Every seq above the one before it (no seq twice)."""
    return all(a.seq < b.seq for a, b in pairwise(rows))


def _rewritten(cur: psycopg.Cursor[Any], statement: str, detail: str) -> list[Break]:
    cur.execute(statement)
    return [
        Break(seq, "rewritten", detail, kept, sent)
        for seq, kept, sent in cur.fetchall()
        if kept != sent
    ]


def insert_rows(
    cur: psycopg.Cursor[Any], host_id: str, rows: list[Row], flagged: list[Break]
) -> tuple[int, int]:
    """Stage and insert ``rows`` (one host's, checked) and the breaks flagged on arrival
    plus those found here; how many rows were new to the store, and how many breaks."""
    breaks = list(flagged)
    stored = _insert(cur, host_id, rows, breaks) if rows else 0
    if breaks:
        cur.executemany(_BREAK, [(host_id, *b) for b in breaks])
    return stored, len(breaks)


def _insert(cur: psycopg.Cursor[Any], host_id: str, rows: list[Row], breaks: list[Break]) -> int:
    with cur.copy(_COPY) as copy:
        copy.write(copy_buffer(rows))
    seqs = [r.seq for r in rows]
    row = cur.execute(_HELD, (host_id, min(seqs), max(seqs))).fetchone()
    held = bool(row and row[0])
    plain = rising(rows)
    if held:
        breaks += _rewritten(cur, _DROP_HELD, "the store holds another record at this seq")
    if not plain:
        breaks += _rewritten(cur, _DROP_REPEATS, "the batch holds another record at this seq")
    cur.execute(_INSERT_NEW if plain and not held else _INSERT)
    return max(cur.rowcount, 0)


__all__ = ["STAGING_DDL", "insert_rows", "rising"]
