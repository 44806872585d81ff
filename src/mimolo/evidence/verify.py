"""Walk a ledger's hash chain and signed checkpoints; say exactly what is wrong and where.

Works on any directory laid out like ``operations/evidence/`` (``YYYY/YYYYMMDD.evidence.jsonl``
with ``YYYYMMDD.checkpoint.json`` beside them): a data root's ledger or an evidence pack's
copy of it. Needs only the standard library and ``cryptography`` (evidence packs ship this
file and ``chain.py`` verbatim as their standalone verifier).

Kinds of problem: ``edited``, ``deleted``, ``inserted``, ``reordered``, ``truncated``,
``bad_signature``, ``missing_checkpoint``, ``checkpoint_mismatch``, ``anchor_mismatch``.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

try:
    from mimolo.protocol import chain
except ImportError:  # standalone, beside chain.py in an evidence pack
    import chain  # type: ignore[no-redef,import-not-found]

_DAY_FILE = re.compile(r"^(\d{8})\.evidence\.jsonl$")
_CHECKPOINT_FILE = re.compile(r"^(\d{8})\.checkpoint\.json$")


@dataclass(frozen=True)
class Problem:
    kind: str
    file: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    message: str
    seq: int | None = None


@dataclass
class DayStatus:
    day: str  # YYYY-MM-DD
    file: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    status: str = "verified"  # verified | broken | open | unchained
    broken_line: int | None = None
    sealed_seq: int | None = None  # highest seq a valid checkpoint of this day covers


@dataclass
class Checkpoint:
    doc: dict[str, Any]
    file: str
    index: int  # 1-based entry number in its file

    @property
    def seq(self) -> int:
        return int(self.doc["seq"])

    @property
    def hash(self) -> str:
        return str(self.doc["hash"])

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))


@dataclass
class Report:
    days: list[DayStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    unchained: int = 0
    checkpoints: int = 0
    key_id: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _day_of(name: str) -> date:
    return date(int(name[:4]), int(name[4:6]), int(name[6:8]))


def day_files(evidence_dir: Path) -> list[tuple[date, Path]]:
    """Every day file under ``evidence_dir``, oldest first."""
    out = []
    for path in evidence_dir.glob("*/*.evidence.jsonl"):
        match = _DAY_FILE.match(path.name)
        if match:
            out.append((_day_of(match.group(1)), path))
    return sorted(out)


def checkpoint_files(evidence_dir: Path) -> list[tuple[date, Path]]:
    out = []
    for path in evidence_dir.glob("*/*.checkpoint.json"):
        match = _CHECKPOINT_FILE.match(path.name)
        if match:
            out.append((_day_of(match.group(1)), path))
    return sorted(out)


def read_checkpoints(path: Path) -> list[dict[str, Any]]:
    """The entries of one checkpoint file (ValueError when it is not one)."""
    doc = json.loads(path.read_bytes())
    entries = doc.get("checkpoints") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError('a checkpoint file is {"checkpoints": [...]}')
    return entries


def load_public_key(path: Path) -> bytes:
    """The raw Ed25519 public key in a PEM file (ValueError when it is not one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class _Walk:
    """State of one verification run; ``verify`` is the entry point."""

    def __init__(self, evidence_dir: Path, public_raw: bytes | None) -> None:
        self.dir = evidence_dir
        self.public_raw = public_raw
        self.key_id = chain.key_id(public_raw) if public_raw is not None else None
        self.report = Report(key_id=self.key_id)
        self.by_seq: dict[int, list[Checkpoint]] = {}
        self.sealed: dict[date, int] = {}
        self.chain_starts: set[int] = set()
        self.expected: str | None = None  # stored hash of the previous chained line
        self.prev_seq: int | None = None
        self.prev_links: dict[str, int] = {}
        self.prev_file = ""
        self.prev_truncated = False
        self.wanted: set[int] = set()  # seqs that checkpoints or anchors name
        self.seen: dict[int, str] = {}  # seq -> stored hash, for the wanted seqs
        self.lines = 0  # lines of the file being walked

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.dir))
        except ValueError:
            return str(path)

    def problem(
        self, kind: str, path: Path | str, line: int, message: str, seq: int | None = None
    ) -> None:
        name = path if isinstance(path, str) else self.rel(path)
        self.report.problems.append(Problem(kind, name, line, message, seq))

    # ---- checkpoints ----------------------------------------------------------------

    def load_checkpoints(self) -> None:
        for day, path in checkpoint_files(self.dir):
            try:
                entries = read_checkpoints(path)
            except (ValueError, OSError) as exc:
                self.problem("bad_signature", path, 0, f"unreadable checkpoint file: {exc}")
                continue
            for index, doc in enumerate(entries, start=1):
                self.check_entry(day, path, index, doc)

    def check_entry(self, day: date, path: Path, index: int, doc: dict[str, Any]) -> None:
        if self.public_raw is None:
            self.problem("bad_signature", path, index, "no host public key to check it with")
            return
        if doc.get("key_id") != self.key_id:
            self.problem(
                "bad_signature",
                path,
                index,
                f"signed by key {doc.get('key_id')!r}, not the host key {self.key_id}",
            )
            return
        if not chain.signature_ok(doc, self.public_raw):
            self.problem("bad_signature", path, index, "the signature does not match its content")
            return
        try:
            cp = Checkpoint(doc, self.rel(path), index)
            seq, kind = cp.seq, cp.kind
            self.wanted.add(seq)
        except (KeyError, TypeError, ValueError):
            self.problem("checkpoint_mismatch", path, index, "a checkpoint without seq or hash")
            return
        if doc.get("day") != day.isoformat():
            self.problem(
                "checkpoint_mismatch",
                path,
                index,
                f"a checkpoint of {doc.get('day')} in the file of {day.isoformat()}",
            )
            return
        self.report.checkpoints += 1
        if kind == "chain_start":
            self.chain_starts.add(seq)
            return
        self.by_seq.setdefault(seq, []).append(cp)
        self.sealed[day] = max(self.sealed.get(day, 0), seq)

    # ---- the chain ------------------------------------------------------------------

    def walk(self, files: list[tuple[date, Path]], newest: date | None) -> None:
        for day, path in files:
            status = DayStatus(day.isoformat(), self.rel(path), sealed_seq=self.sealed.get(day))
            self.report.days.append(status)
            before = len(self.report.problems)
            self.walk_file(path, status)
            self.check_seal(day, path, status, open_ok=day == newest)
            if len(self.report.problems) > before:
                status.status = "broken"
                status.broken_line = min(p.line for p in self.report.problems[before:]) or None

    def walk_file(self, path: Path, status: DayStatus) -> None:
        raw_lines = path.read_bytes().split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        self.lines = len(raw_lines)
        links: list[chain.Link | None] = [chain.parse_link(line) for line in raw_lines]
        index: dict[str, int] | None = None
        edited: set[int] = set()
        for i, link in enumerate(links):
            lineno = i + 1
            if link is None:
                seq = chain.parse_seq(raw_lines[i])
                if self.expected is None and self.report.records == 0:
                    self.report.unchained += 1
                    status.status = "unchained"
                    self.note_seq(status, seq)
                    continue
                self.problem("edited", path, lineno, "a line without a valid chain link", seq)
                edited.add(i)
                self.expected = None
                continue
            self.report.records += 1
            status.records += 1
            self.note_seq(status, link.seq)
            if link.seq in self.wanted:
                self.seen[link.seq] = link.hash
            if link.recomputed() != link.hash:
                self.problem("edited", path, lineno, "the record does not match its hash", link.seq)
                edited.add(i)
            if i == 0 or self.expected is None or link.prev != self.expected:
                if index is None:
                    index = {ln.hash: k for k, ln in enumerate(links) if ln is not None}
                self.unlinked(path, links, index, edited, i)
            self.expected = link.hash
            self.prev_seq = link.seq
        self.prev_links = index if index is not None else {}
        self.prev_file = self.rel(path)
        self.prev_count = len(links)

    def note_seq(self, status: DayStatus, seq: int | None) -> None:
        if seq is None:
            return
        if status.first_seq is None:
            status.first_seq = seq
        status.last_seq = seq

    def unlinked(
        self,
        path: Path,
        links: list[chain.Link | None],
        index: dict[str, int],
        edited: set[int],
        i: int,
    ) -> None:
        """Line ``i`` does not follow the line before it: say why."""
        link = links[i]
        assert link is not None
        lineno = i + 1
        if i == 0 and self.expected == link.prev:
            return
        if self.expected is None and i == 0:
            self.chain_entry(path, link)
            return
        j = index.get(link.prev)
        if j is not None and j > i:
            self.problem(
                "reordered",
                path,
                lineno,
                f"this record comes before its predecessor (line {j + 1})",
                link.seq,
            )
            return
        if j is not None and j < i - 1:
            pointed = {ln.prev for ln in links if ln is not None}
            for k in range(j + 1, i):
                other = links[k]
                if other is not None and other.hash not in pointed and k not in edited:
                    self.problem(
                        "inserted", path, k + 1, "a record no later record links to", other.seq
                    )
            return
        if j is not None:
            return
        if i == 0:
            self.file_boundary(path, link)
            return
        before = links[i - 1]
        if before is not None and link.seq > before.seq + 1:
            self.problem(
                "deleted",
                path,
                lineno,
                f"records seq {before.seq + 1}..{link.seq - 1} are missing before this line",
                link.seq,
            )
        elif (i - 1) not in edited:
            self.problem(
                "edited",
                path,
                i,
                "the record was changed and its hash recomputed (the next one does not link to it)",
                before.seq if before is not None else None,
            )

    def chain_entry(self, path: Path, link: chain.Link) -> None:
        """The first chained record this walk sees: where does it hang from?"""
        if link.prev == chain.ZERO_HASH:
            if link.seq == 1 or (link.seq - 1) in self.chain_starts:
                return
            self.problem(
                "missing_checkpoint",
                path,
                1,
                f"the chain starts at seq {link.seq} without a chain_start checkpoint",
                link.seq,
            )
            return
        for cp in self.by_seq.get(link.seq - 1, []):
            if cp.hash == link.prev:
                return
        if self.walk_from_start:
            self.problem(
                "deleted",
                path,
                1,
                f"records before seq {link.seq} are missing (the chain does not start here)",
                link.seq,
            )

    def file_boundary(self, path: Path, link: chain.Link) -> None:
        """The first line of a day file does not follow the last line of the previous one."""
        j = self.prev_links.get(link.prev)
        if j is not None:
            self.problem(
                "inserted",
                self.prev_file,
                j + 2,
                "records after this line are not in the chain (the next day links to an earlier)",
            )
            return
        if self.prev_seq is not None and link.seq <= self.prev_seq:
            self.problem(
                "inserted",
                path,
                1,
                f"seq {link.seq} repeats or precedes seq {self.prev_seq} of the day before",
                link.seq,
            )
            return
        if self.prev_truncated:
            return
        first_missing = (self.prev_seq or 0) + 1
        if link.seq > first_missing:
            self.problem(
                "deleted",
                path,
                1,
                f"records seq {first_missing}..{link.seq - 1} are missing (a deleted day or end)",
                link.seq,
            )
        else:
            self.problem(
                "edited",
                self.prev_file,
                self.prev_count,
                "the last record of this day was changed and its hash recomputed",
                self.prev_seq,
            )

    def check_seal(self, day: date, path: Path, status: DayStatus, *, open_ok: bool) -> None:
        """A day's checkpoints must cover its last record; the newest day may still be open."""
        self.prev_truncated = False
        sealed = self.sealed.get(day)
        last = status.last_seq
        if status.records == 0:
            return
        if sealed is not None and last is not None and sealed > last:
            self.problem(
                "truncated",
                path,
                self.lines + 1,
                f"the day ends at seq {last} but its signed checkpoint covers seq {sealed}",
                last,
            )
            self.prev_truncated = True
            return
        if sealed is None or (last is not None and sealed < last):
            if open_ok:
                status.status = "open"
                return
            self.problem(
                "missing_checkpoint",
                path,
                0,
                f"no signed checkpoint covers this day's last record (seq {last})",
                last,
            )

    def check_checkpoint_hashes(self) -> None:
        for seq, cps in sorted(self.by_seq.items()):
            got = self.seen.get(seq)
            for cp in cps:
                if got is None:
                    continue
                if got != cp.hash:
                    self.problem(
                        "checkpoint_mismatch",
                        cp.file,
                        cp.index,
                        f"seq {seq} has hash {got[:12]}…, the checkpoint signed {cp.hash[:12]}…",
                        seq,
                    )

    walk_from_start = True
    prev_count = 0


def verify(
    evidence_dir: Path,
    public_raw: bytes | None,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    anchors: tuple[str, ...] = (),
    allow_open_newest: bool = True,
) -> Report:
    """Verify the chain and checkpoints under ``evidence_dir`` for the days in range."""
    walk = _Walk(evidence_dir, public_raw)
    walk.load_checkpoints()
    for text in anchors:
        with contextlib.suppress(ValueError):
            walk.wanted.add(chain.parse_anchor(text)[1])
    files = day_files(evidence_dir)
    newest = files[-1][0] if files and allow_open_newest else None
    if day_from is not None:
        walk.walk_from_start = files[:1] == [f for f in files if f[0] >= day_from][:1]
    files = [
        (day, path)
        for day, path in files
        if (day_from is None or day >= day_from) and (day_to is None or day <= day_to)
    ]
    walk.walk(files, newest)
    walk.check_checkpoint_hashes()
    for text in anchors:
        check_anchor(walk, text)
    walk.report.last_seq = walk.prev_seq
    walk.report.last_hash = walk.expected
    return walk.report


def check_anchor(walk: _Walk, text: str) -> None:
    """An anchor pasted back: the chain must hold that hash at that seq, under that key."""
    try:
        key, seq, hashed = chain.parse_anchor(text)
    except ValueError as exc:
        walk.problem("anchor_mismatch", "anchor", 0, str(exc))
        return
    if key != walk.key_id:
        walk.problem(
            "anchor_mismatch", "anchor", 0, f"the anchor names key {key}, not {walk.key_id}", seq
        )
        return
    got = walk.seen.get(seq)
    if got is None:
        walk.problem("anchor_mismatch", "anchor", 0, f"seq {seq} is not in the verified range", seq)
    elif got != hashed:
        walk.problem(
            "anchor_mismatch", "anchor", 0, f"seq {seq} does not have the anchored hash", seq
        )


__all__ = [
    "Checkpoint",
    "DayStatus",
    "Problem",
    "Report",
    "checkpoint_files",
    "day_files",
    "load_public_key",
    "read_checkpoints",
    "verify",
]
