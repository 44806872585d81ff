"""The review's first stage over a window: evidence categorized into base pieces.

``base_pieces`` is the pure pass over summaries. ``cached_base`` reads the window's ledger
files through the day cache and categorizes them run by run (``runs``), keeping each
closed run that lies wholly inside the window in the day cache's ``derived`` store, keyed
by its files' identities, the rules and the policy: a repeated view reuses the pieces and
recomputes only adjustments, locks and totals. Both give the same pieces (tests check it).
With a ``PieceStore`` the bounds and pieces are kept on disk too, for the next process;
with a warmer, many unread days are first shared among worker processes (``warm``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from mimolo.dataroot import DataRoot
from mimolo.timeline.cache import DayCache
from mimolo.timeline.categorize import categorize
from mimolo.timeline.facts import Facts, FactsCache, parse_facts
from mimolo.timeline.identity import FileIdentity, file_identity
from mimolo.timeline.models import TimelinePolicy, TimelineSummary, to_epoch
from mimolo.timeline.piece_store import PieceStore, policy_digest
from mimolo.timeline.pieces import Piece
from mimolo.timeline.reader import ReadWarning, evidence_days
from mimolo.timeline.rules import Classifier, CompiledRules, GroupKey
from mimolo.timeline.runs import EMPTY, Bounds, bounds_of, policy_key, split_runs
from mimolo.timeline.warm import CHUNKS_PER_WORKER, Warmer, WarmJob, chunks, run_chunks

Memo = dict[tuple[object, ...], tuple[object, str | None, str | None]]


def _order(p: Piece) -> tuple[float, float, str, str, tuple[str, ...], bool]:
    """A total order of base pieces (ties between categories broken by category), so
    the pieces do not depend on which run or input order they came from."""
    return (p.start, p.end, p.client or "", p.project or "", p.tags, p.client is None)


def base_pieces(
    summaries: Iterable[TimelineSummary],
    policy: TimelinePolicy,
    compiled: CompiledRules,
    facts: Mapping[int, Facts] | None,
    lo: float,
    hi: float,
    memo: Memo | None = None,
) -> list[Piece]:
    """Segments per category (rules applied), clipped to ``[lo, hi]``, as pieces."""
    classify = Classifier(compiled, policy.client_of_instance, facts)
    if memo is not None:
        classify.memo = memo
    out = [
        Piece(
            seg.start,
            seg.end,
            *cast(GroupKey, seg.key),
            "evidence",
            rule_ids=tuple(sorted(seg.rule_ids)),
            members=tuple(seg.members),  # untracked by the collector once it has seen it
        )
        for seg in categorize(summaries, policy, classify, lo, hi)
    ]
    out.sort(key=_order)
    return out


class _File:
    """One ledger file of the window: its bounds always, its summaries once needed."""

    __slots__ = ("bounds", "day", "identity", "path", "summaries")

    def __init__(
        self,
        path: Path,
        day: date,
        identity: FileIdentity | None,
        bounds: Bounds,
        summaries: Sequence[TimelineSummary] | None,
    ) -> None:
        self.path = path
        self.day = day
        self.identity = identity
        self.bounds = bounds
        self.summaries = summaries


class _Reader:
    """The window's files through the day cache, the derived cache and the piece store."""

    def __init__(
        self, cache: DayCache, policy: TimelinePolicy, rules_key: str, today: date
    ) -> None:
        self.cache = cache
        self.store: PieceStore | None = cache.pieces
        self.policy = policy
        self.pkey = policy_key(policy)
        self.pname = policy_digest(self.pkey) if self.store is not None else ""
        self.rules_key = rules_key
        self.today = today
        self.warnings: list[ReadWarning] = []

    def digest(self, identity: FileIdentity) -> tuple[Bounds, list[ReadWarning]] | None:
        """A closed file's kept bounds and warnings (memory, then disk), or ``None``."""
        key = ("file", identity, self.pkey)
        hit = cast("tuple[Bounds, list[ReadWarning]] | None", self.cache.derived.get(key))
        if hit is None and self.store is not None:
            hit = self.store.load_digest(identity, self.pname)
            if hit is not None:
                self.cache.derived.put(key, hit, 0)
        return hit

    def file(self, path: Path, day: date) -> _File | None:
        """The file's bounds (and warnings) without reading it when they are kept; ``None``
        for a missing file or one with no usable summary."""
        identity = file_identity(path) if day < self.today else None
        if identity is not None:
            hit = self.digest(identity)
            if hit is not None:
                self.warnings.extend(hit[1])
                return _File(path, day, identity, hit[0], None) if hit[0] != EMPTY else None
        got_identity, summaries, warnings = self.cache.read_identified(path, day, self.today)
        self.warnings.extend(warnings)
        bounds = bounds_of(summaries, self.policy)
        if got_identity is not None:
            self.cache.derived.put(("file", got_identity, self.pkey), (bounds, warnings), 0)
            if self.store is not None:
                self.store.store_digest(got_identity, self.pname, bounds, warnings)
        if bounds == EMPTY:
            return None
        return _File(path, day, got_identity, bounds, summaries)

    def summaries(self, f: _File) -> Sequence[TimelineSummary]:
        if f.summaries is None:
            identity, f.summaries, _ = self.cache.read_identified(f.path, f.day, self.today)
            if identity != f.identity:  # changed since its bounds were read: keep nothing
                f.identity = None
        return f.summaries

    def _key(self, identities: tuple[FileIdentity, ...]) -> tuple[object, ...]:
        return ("base", identities, self.rules_key, self.pkey)

    def is_kept(self, identities: tuple[FileIdentity, ...]) -> bool:
        return self._key(identities) in self.cache.derived or (
            self.store is not None and self.store.has_run(identities, self.rules_key, self.pname)
        )

    def kept(self, identities: tuple[FileIdentity, ...]) -> list[Piece] | None:
        key = self._key(identities)
        hit = cast("list[Piece] | None", self.cache.derived.get(key))
        if hit is None and self.store is not None:
            hit = self.store.load_run(identities, self.rules_key, self.pname)
            if hit is not None:
                self.cache.derived.put(key, hit, sum(len(p.members) for p in hit))
        return hit

    def keep(self, identities: tuple[FileIdentity, ...], pieces: list[Piece], weight: int) -> None:
        self.cache.derived.put(self._key(identities), pieces, weight)
        if self.store is not None:
            self.store.store_run(identities, self.rules_key, self.pname, pieces)


class _Run:
    """Consecutive files nothing derived crosses (``runs.split_runs``), and their span."""

    __slots__ = ("files", "hi", "lo")

    def __init__(self, files: list[_File]) -> None:
        self.files = files
        self.lo = min(f.bounds.lo for f in files)
        self.hi = max(f.bounds.hi for f in files)

    def identities(self) -> tuple[FileIdentity, ...] | None:
        """The files' identities as they stand (``None``: an open day, or one that
        changed while read): what a kept copy of the run is keyed on."""
        got = tuple(f.identity for f in self.files)
        return None if None in got else cast(tuple[FileIdentity, ...], got)

    def whole_in(self, lo: float, hi: float) -> bool:
        """Closed and wholly inside ``[lo, hi]``: its pieces can be kept."""
        return lo <= self.lo and self.hi <= hi and self.identities() is not None


def _unread(reader: _Reader, path: Path) -> int:
    """The size of a closed day's file whose bounds are kept nowhere (0: none such)."""
    identity = file_identity(path)
    return identity.size if identity is not None and reader.digest(identity) is None else 0


def _unkept_runs(
    reader: _Reader, runs: Sequence[_Run], lo: float, hi: float
) -> list[tuple[float, float, int]]:
    """The spans and sizes (bytes) of closed runs wholly inside ``[lo, hi]`` with no kept
    pieces."""
    out: list[tuple[float, float, int]] = []
    for run in runs:
        identities = run.identities()
        if identities is not None and run.whole_in(lo, hi) and not reader.is_kept(identities):
            out.append((run.lo, run.hi, sum(i.size for i in identities)))
    return out


class _Warm:
    """Hands unread days to the day cache's warmer, when it has one and they are many."""

    def __init__(
        self,
        reader: _Reader,
        root: DataRoot,
        policy: TimelinePolicy,
        compiled: CompiledRules,
        now: datetime,
    ) -> None:
        self.reader = reader
        self.root = root
        self.policy = policy
        self.compiled = compiled
        self.now = now

    @property
    def on(self) -> bool:
        """A warmer, and a store its workers can write (else their work is lost)."""
        store = self.reader.store
        return self.reader.cache.warmer is not None and store is not None and store.writable()

    def days(self, days: Sequence[tuple[date, int]]) -> None:
        """A first read of ``days`` (``(day, bytes)``, if much): nothing is kept of them,
        not even bounds, and there are no decoded copies to read (none are written)."""
        warmer = self.reader.cache.warmer
        if warmer is not None and sum(n for _, n in days) >= warmer.min_bytes:
            count = warmer.workers * CHUNKS_PER_WORKER
            self._run(warmer, chunks(sorted(days), count), decoded_copies=False)

    def runs(self, runs: Sequence[tuple[float, float, int]]) -> None:
        """Closed runs with bounds but no kept pieces (new rules, say), if much, shared
        without cutting one; workers read the decoded copies where there are some."""
        warmer = self.reader.cache.warmer
        if warmer is None or sum(n for _, _, n in runs) < warmer.min_bytes or len(runs) < 2:
            return  # one run is one worker's work: no faster than the caller's
        count = warmer.workers * CHUNKS_PER_WORKER
        self._run(warmer, run_chunks(runs, count), decoded_copies=True)

    def _run(
        self, warmer: Warmer, windows: Sequence[tuple[datetime, datetime]], decoded_copies: bool
    ) -> None:
        store, disk = self.reader.store, self.reader.cache.disk
        assert store is not None
        warmer(
            [
                WarmJob(
                    root=str(self.root.root),
                    store=str(store.directory),
                    disk=str(disk.directory) if disk is not None and decoded_copies else None,
                    start=a,
                    end=b,
                    policy=self.policy,
                    rules=self.compiled.source,
                    default=self.compiled.default,
                    rules_key=self.reader.rules_key,
                    now=self.now,
                )
                for a, b in windows
            ]
        )


def _run_facts(files: list[_File], facts_cache: FactsCache | None) -> dict[int, Facts]:
    out: dict[int, Facts] = {}
    for f in files:
        if facts_cache is not None:
            out.update(facts_cache.read(f.path))
            continue
        try:
            out.update(parse_facts(f.path.read_bytes()))
        except FileNotFoundError:
            continue
    return out


def cached_base(
    root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy,
    compiled: CompiledRules,
    rules_key: str,
    *,
    cache: DayCache,
    facts_cache: FactsCache | None,
    now: datetime | None = None,
) -> tuple[list[Piece], list[ReadWarning]]:
    """``base_pieces`` of ``[start, end]`` read from the data root, run by run, closed
    runs wholly inside the window kept in ``cache.derived`` (and ``cache.pieces``)."""
    moment = now or datetime.now(UTC)  # one clock reading: the workers' "today" is ours
    today: date = moment.astimezone(UTC).date()
    lo, hi = to_epoch(start), to_epoch(end)
    reader = _Reader(cache, policy, rules_key, today)
    days = evidence_days(start.astimezone(UTC), end.astimezone(UTC))
    warm = _Warm(reader, root, policy, compiled, moment)
    if warm.on:
        unread = [(d, _unread(reader, root.evidence_file(d))) for d in days if d < today]
        warm.days([(d, n) for d, n in unread if n])
    files: list[_File] = []
    for day in days:
        f = reader.file(root.evidence_file(day), day)
        if f is not None:
            files.append(f)
    runs = [_Run(files[i:j]) for i, j in split_runs([f.bounds for f in files])]
    if warm.on:
        warm.runs(_unkept_runs(reader, runs, lo, hi))
    memo: Memo = {}
    pieces: list[Piece] = []
    for run in runs:
        if run.hi < lo or run.lo > hi:
            continue
        whole = run.whole_in(lo, hi)
        if whole:
            hit = reader.kept(cast(tuple[FileIdentity, ...], run.identities()))
            if hit is not None:
                pieces.extend(hit)
                continue
        summaries = list(itertools.chain.from_iterable(reader.summaries(f) for f in run.files))
        facts = _run_facts(run.files, facts_cache) if compiled.needs_facts else None
        made = base_pieces(summaries, policy, compiled, facts, lo, hi, memo)
        identities = run.identities()  # a file that changed while read is kept nowhere
        if whole and identities is not None:
            reader.keep(identities, made, len(summaries))
        pieces.extend(made)
    return pieces, reader.warnings


__all__ = ["base_pieces", "cached_base"]
