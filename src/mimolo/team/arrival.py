"""Checking a batch of ledger lines on arrival, and turning them into rows (pure).

Each line is decoded (an unreadable line becomes a ``Break``, never a row) and its chain
link is checked against the record before it — the last one the store holds for the
host, then each line of the batch in turn: its hash must recompute (``edited``), its
``prev`` must be the previous hash (``unlinked``), seqs must follow on (``gap``,
``out_of_order``), and once chained a ledger stays chained (``unchained``). A flagged
record is still a row: the store keeps everything and says what is wrong with it.

Each row also carries what the timeline derivation reads (``TimelineSummary``: span, mode,
keep_alive, client_id), decoded by the local reader's own ``parse_lines``, so the team view
reads plain columns; a line that is not a usable summary leaves them NULL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec

from mimolo.protocol.chain import ZERO_HASH, parse_link, parse_seq
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import parse_lines

BREAK_KINDS = ("edited", "unlinked", "gap", "out_of_order", "unchained", "unreadable", "rewritten")


class _Wire(msgspec.Struct, gc=False):
    """The wrapped-record fields a row needs (the chain fields come from ``parse_link``)."""

    seq: int
    id: str
    received_at: datetime
    plugin_id: str
    instance_id: str
    instance_label: str
    record: msgspec.Raw  # present (a line without it is unreadable), not stored apart


class Row(NamedTuple):
    """One ``mimolo.records`` row, in the staging table's column order. Its ``record``
    (jsonb) is left NULL: the line holds the summary byte for byte, and parsing it twice
    more on the way in cost the store a third of its throughput (docs/team.md)."""

    host_id: str
    seq: int
    id: str
    received_at: datetime
    plugin_id: str
    instance_id: str
    instance_label: str
    line: str
    prev: str | None
    hash: str | None
    span_start: float | None = None
    span_end: float | None = None
    mode: str | None = None
    keep_alive: bool | None = None
    client_id: str | None = None


ROW_COLUMNS = Row._fields


class Break(NamedTuple):
    """One ``mimolo.chain_breaks`` row (without its id and time)."""

    seq: int | None
    kind: str
    detail: str
    expected: str | None = None
    found: str | None = None
    line: bytes | None = None


class Tip(NamedTuple):
    """Where a host's chain ends: the last seq and the hash the next ``prev`` must be
    (``None`` after unchained records: the chain may start afresh with zeros)."""

    seq: int
    hash: str | None


class Checked(NamedTuple):
    rows: list[Row]
    breaks: list[Break]
    tip: Tip
    last_received_at: datetime | None


_decoder = msgspec.json.Decoder(_Wire)


def start_tip(last_seq: int, last_hash: str | None) -> Tip:
    """The tip the store acknowledged; an empty store expects a chain from zeros."""
    if last_seq == 0:
        return Tip(0, ZERO_HASH)
    return Tip(last_seq, last_hash)


def summaries_of(lines: list[bytes]) -> list[TimelineSummary | None]:
    """Each line's summary as the local reader decodes it, or None where it yields none."""
    got, warnings = parse_lines(b"\n".join(lines) + b"\n", "batch")
    bad = {w.line for w in warnings}
    if len(got) + len(bad) != len(lines):  # not one outcome per line: decode each alone
        return [next(iter(parse_lines(line + b"\n", "line")[0]), None) for line in lines]
    found = iter(got)
    return [None if n in bad else next(found) for n in range(1, len(lines) + 1)]


def _row(head: tuple[Any, ...], summary: TimelineSummary | None) -> Row:
    if summary is None:
        return Row._make((*head, None, None, None, None, None))
    return Row._make(
        (*head, summary.start, summary.end, summary.mode, summary.keep_alive, summary.client_id)
    )


def check_batch(host_id: str, lines: list[bytes], tip: Tip) -> Checked:
    """Rows and breaks for ``lines`` (each without its newline) following ``tip``."""
    heads: list[tuple[Any, ...]] = []  # a row's columns up to its hash
    good: list[bytes] = []
    breaks: list[Break] = []
    seq, expected = tip
    last_at: datetime | None = None
    for line in lines:
        try:
            wire = _decoder.decode(line)
            text = line.decode("utf-8")
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            digest = hashlib.sha256(line).hexdigest()
            detail = f"not a ledger record: {exc}"
            breaks.append(Break(parse_seq(line), "unreadable", detail, None, digest, line))
            continue
        if wire.seq != seq + 1:
            if wire.seq > seq:
                detail = f"seqs {seq + 1}..{wire.seq - 1} are missing"
                breaks.append(Break(wire.seq, "gap", detail, str(seq + 1), str(wire.seq)))
            else:
                detail = f"seq {wire.seq} comes after seq {seq}"
                breaks.append(Break(wire.seq, "out_of_order", detail, str(seq + 1), str(wire.seq)))
        link = parse_link(line)
        if link is None:
            if expected is not None and seq > 0:
                breaks.append(Break(wire.seq, "unchained", "a record without a chain link"))
            prev = hashed = None
            expected = ZERO_HASH
        else:
            prev, hashed = link.prev, link.hash
            if link.recomputed() != link.hash:
                breaks.append(
                    Break(wire.seq, "edited", "the record's hash does not recompute",
                          link.recomputed(), link.hash)
                )  # fmt: skip
            if expected is not None and link.prev != expected:
                breaks.append(
                    Break(wire.seq, "unlinked", "prev is not the previous record's hash",
                          expected, link.prev)
                )  # fmt: skip
            expected = link.hash
        heads.append(
            (
                host_id, wire.seq, wire.id, wire.received_at, wire.plugin_id,
                wire.instance_id, wire.instance_label, text, prev, hashed,
            )
        )  # fmt: skip
        good.append(line)
        seq = max(seq, wire.seq)
        last_at = wire.received_at
    rows = [_row(h, s) for h, s in zip(heads, summaries_of(good), strict=True)]
    return Checked(rows, breaks, Tip(seq, expected), last_at)


def months_of(rows: list[Row]) -> set[tuple[int, int]]:
    """The (year, month) of every row's ``received_at`` in UTC: the partitions needed."""
    out = set()
    for row in rows:
        at = row.received_at
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        out.add((at.year, at.month))
    return out


__all__ = [
    "BREAK_KINDS",
    "ROW_COLUMNS",
    "Break",
    "Checked",
    "Row",
    "Tip",
    "check_batch",
    "months_of",
    "start_tip",
    "summaries_of",
]
