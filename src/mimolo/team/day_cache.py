"""Decoded host-days of the team store, kept while the store says they are unchanged.

Records are only ever added (keyed by host and seq), so a host-day whose record count and
highest seq are what they were holds the same records: its decoded summaries can be served
again without fetching or decoding them. Each read checks those two numbers for every
host-day of its range first (one cheap query), then fetches only the host-days that moved.
Bounded by summaries held, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date

import msgspec

from mimolo.timeline.models import TimelineSummary
from mimolo.timeline.reader import ReadWarning

DEFAULT_MAX_SUMMARIES = 3_000_000


class Fingerprint(msgspec.Struct, frozen=True, array_like=True):
    """What must be unchanged: how many records the host-day has, and its highest seq."""

    count: int
    max_seq: int


class HostDay(msgspec.Struct, frozen=True, kw_only=True):
    """One host's decoded records of one UTC day (by ``received_at``)."""

    fingerprint: Fingerprint
    summaries: list[TimelineSummary]
    warnings: list[ReadWarning]


Key = tuple[str, date]


class HostDayCache:
    """Thread-safe LRU of decoded host-days, bounded in summaries."""

    def __init__(self, max_summaries: int = DEFAULT_MAX_SUMMARIES) -> None:
        if max_summaries < 1:
            raise ValueError("max_summaries must be at least 1")
        self.max_summaries = max_summaries
        self.hits = 0
        self.misses = 0
        self._held = 0
        self._entries: OrderedDict[Key, HostDay] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, fingerprint: Fingerprint) -> HostDay | None:
        """The entry when it is still current (callers must not mutate its lists)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.fingerprint == fingerprint:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def put(self, key: Key, entry: HostDay) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= len(old.summaries)
            self._entries[key] = entry
            self._held += len(entry.summaries)
            while len(self._entries) > 1 and self._held > self.max_summaries:
                _, dropped = self._entries.popitem(last=False)
                self._held -= len(dropped.summaries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def summaries(self) -> int:
        return self._held

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held = 0


__all__ = ["DEFAULT_MAX_SUMMARIES", "Fingerprint", "HostDay", "HostDayCache"]
