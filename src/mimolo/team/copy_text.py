"""A batch of rows as one buffer in COPY's text format (pure): the shipper's hot path.

``Copy.write_row`` costs several microseconds a row in Python; one ``str.join`` per row
and a single write cost a fraction of that. The format is PostgreSQL's own (``COPY …
FROM STDIN``, text): columns separated by tabs, rows by newlines, ``\\N`` for NULL, and
backslash, tab, newline and carriage return escaped with a backslash.
"""

from __future__ import annotations

from collections.abc import Iterable

from mimolo.team.arrival import Row

NULL = "\\N"


def escape(value: str) -> str:
    """A text value as COPY reads it back unchanged."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def row_text(row: Row) -> str:
    """One row (``ROW_COLUMNS`` order), without its newline. The host id, the chain's
    hashes, the time and the mode cannot hold a special character: written as they are."""
    host_id, seq, rid, at, plugin, inst, label, line, prev, hashed, s0, s1, mode, ka, cl = row
    return "\t".join(
        (
            host_id, str(seq), escape(rid), at.isoformat(), escape(plugin), escape(inst),
            escape(label), escape(line), NULL if prev is None else prev,
            NULL if hashed is None else hashed,
            NULL if s0 is None else repr(s0),  # repr: the shortest exact digits
            NULL if s1 is None else repr(s1), NULL if mode is None else mode,
            NULL if ka is None else ("t" if ka else "f"),
            NULL if cl is None else escape(cl),
        )
    )  # fmt: skip


def copy_buffer(rows: Iterable[Row]) -> bytes:
    """Every row, newline-terminated, UTF-8: what ``COPY … FROM STDIN`` reads."""
    text = "\n".join([row_text(row) for row in rows])
    return (text + "\n").encode("utf-8") if text else b""


__all__ = ["NULL", "copy_buffer", "escape", "row_text"]
