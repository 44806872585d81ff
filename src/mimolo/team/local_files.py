"""What the shipper reads from a data root: ledger lines after a seq, checkpoint entries,
and the review layer's append-only JSONL files. Reading only — Operations may be writing
the same files, so only complete (newline-terminated) lines are taken.

The local ledger is the offline queue: nothing is copied aside while the store is away;
the next pass reads on from the store's acknowledged seq.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from mimolo.evidence.layout import checkpoint_files, day_files, read_checkpoints
from mimolo.protocol.chain import parse_seq

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_READ_CHUNK = 4 * 2**20


class _Position(NamedTuple):
    file_index: int  # into the day files, oldest first
    offset: int  # bytes into that file
    after_seq: int  # the seq of the line just before ``offset`` (what was read up to)


class LedgerReader:
    """Ledger lines after a seq, in file order; sequential reads resume where the last
    one ended instead of searching again."""

    def __init__(self, evidence_dir: Path) -> None:
        self.evidence_dir = evidence_dir
        self._files: list[Path] = []
        self._at: _Position | None = None

    def _refresh(self) -> None:
        self._files = [path for _, path in day_files(self.evidence_dir)]

    def _seek(self, after_seq: int) -> _Position:
        """The first line whose seq is above ``after_seq``: the last day file that
        starts at or below it, then line by line."""
        self._refresh()
        start = 0
        for index, path in enumerate(self._files):
            first = _first_seq(path)
            if first is not None and first <= after_seq:
                start = index
            elif first is not None:
                break
        for index in range(start, len(self._files)):
            offset = 0
            with self._files[index].open("rb") as fh:
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        return _Position(index, offset, after_seq)
                    seq = parse_seq(raw)
                    if seq is not None and seq > after_seq:
                        return _Position(index, offset, after_seq)
                    offset += len(raw)
        return _Position(len(self._files), 0, after_seq)

    def read(self, after_seq: int, limit: int) -> list[bytes]:
        """Up to ``limit`` complete lines (without newlines) after ``after_seq``."""
        at = self._at
        if at is None or at.after_seq != after_seq:
            at = self._seek(after_seq)
        else:
            self._refresh()
        lines: list[bytes] = []
        index, offset = at.file_index, at.offset
        while len(lines) < limit and index < len(self._files):
            with self._files[index].open("rb") as fh:
                fh.seek(offset)
                data = fh.read(_READ_CHUNK)
            end = data.rfind(b"\n") + 1
            complete = data[:end].split(b"\n")[:-1]
            take = complete[: limit - len(lines)]
            lines.extend(take)
            offset += sum(len(line) + 1 for line in take)
            if len(take) < len(complete):
                break  # the batch is full
            if len(data) == _READ_CHUNK and end > 0:
                continue  # more of this file
            if index + 1 < len(self._files):
                # the end of an older day file; a partial line there is a torn tail that
                # Operations quarantines at its next start, outside the chain
                index, offset = index + 1, 0
                continue
            break  # the newest file: a partial line is still being written
        last = after_seq
        for line in reversed(lines):
            seq = parse_seq(line)
            if seq is not None:
                last = max(seq, after_seq)
                break
        self._at = _Position(index, offset, last)
        return lines

    def forget(self) -> None:
        """Drop the resume position (after a failed batch: the next read seeks)."""
        self._at = None


def _first_seq(path: Path) -> int | None:
    with path.open("rb") as fh:
        return parse_seq(fh.readline())


def local_tip(evidence_dir: Path) -> int:
    """The seq of the newest complete record on disk (0 when there is none)."""
    for _, path in reversed(day_files(evidence_dir)):
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - 256 * 1024))
            tail = fh.read()
        for line in reversed(tail[: tail.rfind(b"\n") + 1].split(b"\n")):
            seq = parse_seq(line)
            if seq is not None:
                return seq
    return 0


class CheckpointEntry(NamedTuple):
    day: date
    entry_hash: str
    doc: dict[str, Any]


def entry_hash(doc: dict[str, Any]) -> str:
    """The key of a checkpoint entry: SHA-256 of all its fields, signature included."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checkpoint_entries(evidence_dir: Path, since: date | None) -> list[CheckpointEntry]:
    """Every readable checkpoint entry of the days from ``since`` on (all when None)."""
    out: list[CheckpointEntry] = []
    for day, path in checkpoint_files(evidence_dir):
        if since is not None and day < since:
            continue
        try:
            entries = read_checkpoints(path)
        except (OSError, ValueError):
            continue  # unreadable: Operations moves it aside and starts the day's file anew
        out.extend(CheckpointEntry(day, entry_hash(doc), doc) for doc in entries)
    return out


class ReviewLine(NamedTuple):
    kind: str
    line_no: int
    id: str
    doc: dict[str, Any] | None
    line: str


def review_kinds(review_dir: Path) -> list[str]:
    """The append-only files of the review layer (``adjustments``, ``invoices`` …)."""
    if not review_dir.is_dir():
        return []
    return sorted(p.stem for p in review_dir.glob("*.jsonl") if _KIND.fullmatch(p.stem))


def review_lines(review_dir: Path, kind: str, after_line: int) -> list[ReviewLine]:
    """Complete lines of ``<kind>.jsonl`` after line number ``after_line`` (1-based)."""
    path = review_dir / f"{kind}.jsonl"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out: list[ReviewLine] = []
    lines = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
    for number, raw in enumerate(lines, start=1):
        if number <= after_line or not raw.strip():
            continue
        text = raw.decode("utf-8", errors="replace")
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc = None
        ident = doc.get("id") if doc is not None else None
        if not isinstance(ident, str) or not ident:
            ident = "sha256:" + hashlib.sha256(raw).hexdigest()
        out.append(ReviewLine(kind, number, ident, doc, text))
    return out


__all__ = [
    "CheckpointEntry",
    "LedgerReader",
    "ReviewLine",
    "checkpoint_entries",
    "entry_hash",
    "local_tip",
    "review_kinds",
    "review_lines",
]
