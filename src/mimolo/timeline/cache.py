"""An in-memory LRU of decoded ledger days, for closed days only (strictly before today UTC).

Entries are keyed on the file's identity (path, size, mtime_ns, inode): a file that changed
in any of those is re-read, never served stale. Today's file is always read fresh. With a
``DiskCache`` a miss in memory tries the on-disk copy before decoding the ledger; with a
``PieceStore`` the review's derived values have on-disk copies too (``base``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from mimolo.timeline.disk_cache import DiskCache
from mimolo.timeline.facts import Facts, FactsCache, read_with_facts
from mimolo.timeline.identity import FileIdentity, file_identity
from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.piece_store import PieceStore
from mimolo.timeline.reader import ReadWarning, read_file
from mimolo.timeline.runs import DerivedCache
from mimolo.timeline.warm import Warmer

DEFAULT_MAX_DAYS = 400
DEFAULT_MAX_SUMMARIES = 3_000_000
"""About 400 MB of decoded summaries: a busy year, bounded."""


_Entry = tuple[FileIdentity, tuple[TimelineSummary, ...], list[ReadWarning]]


class DayCache:
    """Thread-safe LRU of ``read_file`` results for closed days, bounded in days and summaries."""

    def __init__(
        self,
        max_days: int = DEFAULT_MAX_DAYS,
        max_summaries: int = DEFAULT_MAX_SUMMARIES,
        *,
        disk: DiskCache | None = None,
        pieces: PieceStore | None = None,
        warmer: Warmer | None = None,
        facts: FactsCache | None = None,
    ) -> None:
        if max_days < 1 or max_summaries < 1:
            raise ValueError("max_days and max_summaries must be at least 1")
        self.max_days = max_days
        self.max_summaries = max_summaries
        self.disk = disk
        self.pieces = pieces
        """On-disk copies of ``derived``'s file bounds and closed runs' pieces."""
        self.warmer = warmer
        """Worker processes for a first review of many days (with ``pieces`` only)."""
        self.facts = facts
        """Where a ledger file decoded here leaves its facts, read in the same pass."""
        self.disk_hits = 0
        self._summaries = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.derived: DerivedCache[object] = DerivedCache(max_weight=max_summaries)
        """What the review derived from these closed days (keyed by their identities)."""

    def __len__(self) -> int:
        return len(self._entries)

    def read(
        self, path: Path, day: date, today: date
    ) -> tuple[Sequence[TimelineSummary], list[ReadWarning]]:
        """The file's summaries, from the cache when ``day`` is closed and the file unchanged.

        Callers must not mutate the returned lists (they are shared with the cache).
        """
        _, summaries, warnings = self.read_identified(path, day, today)
        return summaries, warnings

    def read_identified(
        self, path: Path, day: date, today: date
    ) -> tuple[FileIdentity | None, Sequence[TimelineSummary], list[ReadWarning]]:
        """``read`` plus the identity the answer is valid for (``None``: an open day or a
        missing file, nothing to key a derived value on). Kept days are tuples: once the
        collector has seen them they are untracked, so a year in memory costs it nothing."""
        if day >= today:
            return (None, *read_file(path))
        before = file_identity(path)
        if before is None:
            return None, [], []
        key = str(path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == before:
                self._entries.move_to_end(key)
                self.hits += 1
                return before, entry[1], entry[2]
            self.misses += 1
        loaded = self.disk.load(before) if self.disk is not None else None
        facts: dict[int, Facts] = {}
        if loaded is not None:
            self.disk_hits += 1
            decoded, warnings = loaded
        elif self.facts is not None:
            decoded, warnings, facts = read_with_facts(path)
        else:
            decoded, warnings = read_file(path)
        if file_identity(path) != before:  # changed while we read it: keep nothing
            return None, decoded, warnings
        if loaded is None and self.facts is not None:
            self.facts.remember(before, facts)
        if loaded is None and self.disk is not None:
            self.disk.store(before, decoded, warnings)
        summaries = tuple(decoded)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._summaries -= len(old[1])
            self._entries[key] = (before, summaries, warnings)
            self._summaries += len(summaries)
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_days or self._summaries > self.max_summaries
            ):
                _, (_, dropped, _) = self._entries.popitem(last=False)
                self._summaries -= len(dropped)
        return before, summaries, warnings

    @property
    def summaries(self) -> int:
        """How many decoded summaries the cache holds now."""
        return self._summaries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._summaries = 0
        self.derived.clear()


__all__ = ["DEFAULT_MAX_DAYS", "DEFAULT_MAX_SUMMARIES", "DayCache"]
