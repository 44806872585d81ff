"""The line-by-line walk of a verification: the chain across day files, the checkpoints,
and for every break the kind and the exact place (``verify.verify`` is the entry point).

Standard library and ``cryptography`` only; shipped in evidence packs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

try:
    from mimolo.evidence.findings import Checkpoint, DayStatus, Problem, Report
    from mimolo.evidence.layout import checkpoint_files, read_checkpoints
    from mimolo.evidence.scan import FileScan, scan_files
    from mimolo.protocol import chain
except ImportError:  # standalone, beside the other verifier modules in an evidence pack
    import chain  # type: ignore[no-redef,import-not-found]
    from findings import Checkpoint, DayStatus, Problem, Report  # type: ignore[no-redef,import-not-found]
    from layout import checkpoint_files, read_checkpoints  # type: ignore[no-redef,import-not-found]
    from scan import FileScan, scan_files  # type: ignore[no-redef,import-not-found]


class ChainWalk:
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
        self.prev_links: dict[str, int] | None = {}
        self.prev_path = evidence_dir
        self.prev_file = ""
        self.prev_truncated = False
        self.wanted: set[int] = set()  # seqs that checkpoints or anchors name
        self.seen: dict[int, str] = {}  # seq -> stored hash, for the wanted seqs
        self.lines = 0  # lines of the file being walked
        self.prev_count = 0  # lines of the file walked before it
        self.walk_from_start = True  # False when a --from range starts after the first day

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

    def walk(
        self, files: list[tuple[date, Path]], newest: date | None, parallel_bytes: int
    ) -> None:
        paths = [str(path) for _, path in files]
        scans = scan_files(paths, frozenset(self.wanted), parallel_bytes=parallel_bytes)
        for (day, path), scanned in zip(files, scans, strict=True):
            status = DayStatus(day.isoformat(), self.rel(path), sealed_seq=self.sealed.get(day))
            self.report.days.append(status)
            before = len(self.report.problems)
            if not self.accept(path, status, scanned):
                self.walk_file(path, status)
            self.check_seal(day, path, status, open_ok=day == newest)
            if len(self.report.problems) > before:
                status.status = "broken"
                status.broken_line = min(p.line for p in self.report.problems[before:]) or None

    def accept(self, path: Path, status: DayStatus, scanned: FileScan) -> bool:
        """Take a clean file's fast pass when it also follows the file before it."""
        if not scanned.clean or self.expected is None or scanned.count == 0:
            return False
        if scanned.first_prev != self.expected:
            return False
        self.report.records += scanned.count
        status.records = scanned.count
        status.first_seq, status.last_seq = scanned.first_seq, scanned.last_seq
        self.seen.update(scanned.seen)
        self.expected, self.prev_seq = scanned.last_hash, scanned.last_seq
        self.lines = self.prev_count = scanned.count
        self.prev_links, self.prev_path, self.prev_file = None, path, self.rel(path)
        return True

    def previous_index(self) -> dict[str, int]:
        """hash -> line index of the previous file (built only when a boundary breaks)."""
        if self.prev_links is None:
            links = [chain.parse_link(line) for line in self.prev_path.read_bytes().splitlines()]
            self.prev_links = {ln.hash: k for k, ln in enumerate(links) if ln is not None}
        return self.prev_links

    def walk_file(self, path: Path, status: DayStatus) -> None:
        raw_lines = path.read_bytes().split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        self.lines = len(raw_lines)
        parse, link_hash = chain.parse_link, chain.link_hash
        links: list[chain.Link | None] = [parse(line) for line in raw_lines]
        index: dict[str, int] | None = None
        edited: set[int] = set()
        wanted, seen = self.wanted, self.seen
        expected = self.expected
        for i, link in enumerate(links):
            if link is None:
                self.expected = expected
                if self.unchained_line(path, raw_lines[i], i, status, edited):
                    expected = None
                continue
            if link_hash(link.prev, link.digest) != link.hash:
                self.problem("edited", path, i + 1, "the record does not match its hash", link.seq)
                edited.add(i)
            if link.prev != expected or expected is None:
                if index is None:
                    index = {ln.hash: k for k, ln in enumerate(links) if ln is not None}
                self.expected = expected
                self.unlinked(path, links, index, edited, i)
            if link.seq in wanted:
                seen[link.seq] = link.hash
            expected = link.hash
            self.prev_seq = link.seq
        self.expected = expected
        chained = [ln.seq for ln in links if ln is not None]
        if chained:
            self.report.records += len(chained)
            status.records += len(chained)
            if status.first_seq is None:
                status.first_seq = chained[0]
            status.last_seq = chained[-1]
        self.prev_links = index
        self.prev_path, self.prev_file = path, self.rel(path)
        self.prev_count = len(links)

    def unchained_line(
        self, path: Path, line: bytes, i: int, status: DayStatus, edited: set[int]
    ) -> bool:
        """A line without a chain link: fine before the chain starts, an edit after.
        True when it breaks the chain (the next line cannot be checked against it)."""
        seq = chain.parse_seq(line)
        if self.expected is None and self.report.records == 0 and not status.records:
            self.report.unchained += 1
            status.status = "unchained"
            self.note_seq(status, seq)
            return False
        self.problem("edited", path, i + 1, "a line without a valid chain link", seq)
        edited.add(i)
        return True

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
        if self.expected is None:
            if self.prev_seq is None:  # the first chained record this walk sees
                self.chain_entry(path, link, i + 1)
            return  # else the line before had no link: reported there
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

    def chain_entry(self, path: Path, link: chain.Link, lineno: int) -> None:
        """The first chained record this walk sees: where does it hang from?"""
        if link.prev == chain.ZERO_HASH:
            if link.seq == 1 or (link.seq - 1) in self.chain_starts:
                return
            self.problem(
                "missing_checkpoint",
                path,
                lineno,
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
                lineno,
                f"records before seq {link.seq} are missing (the chain does not start here)",
                link.seq,
            )

    def file_boundary(self, path: Path, link: chain.Link) -> None:
        """The first line of a day file does not follow the last line of the previous one."""
        j = self.previous_index().get(link.prev)
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


__all__ = ["ChainWalk"]
