"""Turning raw file-system notifications into bounded, coalesced change counts (pure).

The watcher hands in one :class:`RawEvent` per path per batch, with the path's identity
as stat'ed right after the batch (``None``: the path does not exist now). The rules:

* A path's net change over a burst is decided by whether it existed *before* the burst
  and whether it exists *after*: created, modified, deleted, or - created and deleted
  again within the burst - ``transient`` (counted separately, never in ``total``).
* Events on one path closer together than ``window_s`` belong to one burst; a burst
  settles once it has been quiet for ``window_s`` (or at a summary boundary).
* A deletion and a creation with the same device, inode and size inside one burst window
  are one rename (``from_path`` -> ``path``).
* An "added" notification for a path that already existed (an editor's atomic save)
  is a modification.

Every structure is bounded: pending bursts (``max_pending``; past it the oldest settles
early, nothing is lost), the identity cache, the extension counter, the samples and the
recent-changes list. Time is plain float seconds passed in, so tests use a fake clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from mimolo.agents.client_folder_activity.globs import extension_of

ChangeKind = Literal["created", "modified", "deleted", "renamed", "transient"]
COUNTED_KINDS: tuple[ChangeKind, ...] = ("created", "modified", "deleted", "renamed")

TRACKED_FILES_LIMIT = 100_000
EXTENSION_KEYS_LIMIT = 64
TOP_EXTENSIONS = 10
RECENT_LIMIT = 50
OTHER_EXTENSIONS = "(other)"
NO_EXTENSION = "(none)"


class FileId(msgspec.Struct, frozen=True):
    """What identifies a file across a rename: device, inode and size."""

    dev: int
    ino: int
    size: int

    def rename_key(self) -> tuple[int, int, int] | None:
        """The pairing key, or None where the platform reports no inode."""
        return None if self.ino == 0 else (self.dev, self.ino, self.size)


class RawEvent(msgspec.Struct, frozen=True):
    """One path's notifications in one watcher batch."""

    path: str
    at: float
    file_id: FileId | None
    appeared: bool = False


class Change(msgspec.Struct, frozen=True):
    """A settled change, as shown in samples and the widget."""

    kind: ChangeKind
    path: str
    at: float
    from_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary/widget form: ISO time, relative paths only."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "at": iso(self.at)}
        if self.from_path is not None:
            out["from"] = self.from_path
        return out


class WindowReport(msgspec.Struct, frozen=True):
    """Everything one summary window observed."""

    counts: dict[str, int]
    top_extensions: list[dict[str, Any]]
    path_samples: list[dict[str, Any]]
    dropped_events: int
    events_seen: int

    @property
    def total(self) -> int:
        """Counted changes (transient ones excluded)."""
        return self.counts["total"]


class _Burst(msgspec.Struct):
    path: str
    first_at: float
    last_at: float
    existed_before: bool
    exists_now: bool
    file_id: FileId | None
    from_path: str | None = None

    def kind(self) -> ChangeKind:
        if self.from_path is not None:
            return "renamed" if self.exists_now else "deleted"
        if self.existed_before:
            return "modified" if self.exists_now else "deleted"
        return "created" if self.exists_now else "transient"


def iso(at: float) -> str:
    """Epoch seconds as ISO-8601 UTC."""
    return datetime.fromtimestamp(at, UTC).isoformat()


class Coalescer:
    """Bounded coalescing state of one agent; not thread-safe (the agent holds a lock)."""

    def __init__(
        self,
        *,
        window_s: float,
        max_pending: int,
        samples_limit: int,
        recent_limit: int = RECENT_LIMIT,
        tracked_limit: int = TRACKED_FILES_LIMIT,
    ) -> None:
        self.window_s = window_s
        self.max_pending = max(1, max_pending)
        self.samples_limit = samples_limit
        self.tracked_limit = tracked_limit
        self._known: dict[str, FileId] = {}
        # Insertion order == last-activity order (entries are re-inserted on update).
        # Only _put/_take change it, so the rename index below stays in step.
        self._pending: dict[str, _Burst] = {}
        # rename key -> paths of pending created/deleted bursts with it, oldest first:
        # pairing a rename looks up its partners instead of scanning every pending burst.
        self._rename_partners: dict[tuple[int, int, int], dict[str, None]] = {}
        self._counts: dict[str, int] = dict.fromkeys((*COUNTED_KINDS, "transient"), 0)
        self._extensions: dict[str, int] = {}
        self._samples: deque[Change] = deque(maxlen=max(0, samples_limit))
        self.recent: deque[Change] = deque(maxlen=recent_limit)
        self._dropped = 0
        self._seen = 0
        self.events_seen_total = 0
        self.events_dropped_total = 0

    # -- input -----------------------------------------------------------------------

    def load_baseline(self, entries: Iterable[tuple[str, FileId]]) -> int:
        """Remember files that exist at start (they are never reported as created)."""
        loaded = 0
        for path, file_id in entries:
            if len(self._known) >= self.tracked_limit:
                break
            self._known[path] = file_id
            loaded += 1
        return loaded

    @property
    def tracked_files(self) -> int:
        """Files whose identity is remembered (bounded)."""
        return len(self._known)

    @property
    def pending(self) -> int:
        """Bursts not yet settled (bounded by ``max_pending``)."""
        return len(self._pending)

    def drop(self, count: int) -> None:
        """Count events that were seen but not recorded (sampling stopped, unreadable)."""
        self._dropped += count
        self.events_dropped_total += count

    def observe_only(self, event: RawEvent) -> None:
        """Keep file identities current without recording (while sampling is stopped)."""
        self._remember(event.path, event.file_id)
        self.drop(1)

    def feed(self, event: RawEvent) -> None:
        """Record one path's notifications."""
        self._seen += 1
        self.events_seen_total += 1
        burst = self._take(event.path)
        if burst is not None and event.at - burst.last_at > self.window_s:
            self._settle_one(burst)
            burst = None
        if burst is None:
            if len(self._pending) >= self.max_pending:
                oldest = self._take(next(iter(self._pending)))
                assert oldest is not None
                self._settle_one(oldest)
            known = event.path in self._known
            burst = _Burst(
                path=event.path,
                first_at=event.at,
                last_at=event.at,
                existed_before=known or not event.appeared,
                exists_now=event.file_id is not None,
                file_id=event.file_id or self._known.get(event.path),
            )
        else:
            burst.last_at = event.at
            burst.exists_now = event.file_id is not None
            if event.file_id is not None:
                burst.file_id = event.file_id
        self._remember(event.path, event.file_id)
        self._put(self._pair_rename(burst))

    @staticmethod
    def _rename_key(burst: _Burst) -> tuple[int, int, int] | None:
        """The key a creation and a deletion of one file share, for bursts that can pair."""
        if burst.file_id is None or burst.kind() not in ("created", "deleted"):
            return None
        return burst.file_id.rename_key()

    def _put(self, burst: _Burst) -> None:
        self._pending[burst.path] = burst
        key = self._rename_key(burst)
        if key is not None:
            self._rename_partners.setdefault(key, {})[burst.path] = None

    def _take(self, path: str) -> _Burst | None:
        burst = self._pending.pop(path, None)
        key = None if burst is None else self._rename_key(burst)
        if key is not None:
            paths = self._rename_partners[key]
            del paths[path]
            if not paths:
                del self._rename_partners[key]
        return burst

    def _remember(self, path: str, file_id: FileId | None) -> None:
        if file_id is None:
            self._known.pop(path, None)
        elif path in self._known or len(self._known) < self.tracked_limit:
            self._known[path] = file_id

    def _pair_rename(self, burst: _Burst) -> _Burst:
        """Merge a creation with a pending deletion of the same file (or vice versa): the
        most recently active partner within ``window_s``."""
        key = self._rename_key(burst)
        if key is None:
            return burst
        kind = burst.kind()
        want: ChangeKind = "deleted" if kind == "created" else "created"
        for path in reversed(list(self._rename_partners.get(key, ()))):
            other = self._pending[path]
            if other.kind() == want and burst.last_at - other.last_at <= self.window_s:
                self._take(path)
                old, new = (other, burst) if kind == "created" else (burst, other)
                return _Burst(
                    path=new.path,
                    first_at=min(old.first_at, new.first_at),
                    last_at=max(old.last_at, new.last_at),
                    existed_before=True,
                    exists_now=True,
                    file_id=new.file_id,
                    from_path=old.from_path or old.path,
                )
        return burst

    # -- settling and output ---------------------------------------------------------

    def settle(self, now: float, *, force: bool = False) -> int:
        """Settle bursts quiet for ``window_s`` (all of them with ``force``)."""
        settled = 0
        while self._pending:
            path = next(iter(self._pending))
            burst = self._pending[path]
            if not force and now - burst.last_at < self.window_s:
                break
            self._take(path)
            self._settle_one(burst)
            settled += 1
        return settled

    def _settle_one(self, burst: _Burst) -> None:
        kind = burst.kind()
        self._counts[kind] += 1
        path = burst.path
        from_path = burst.from_path
        if kind == "deleted" and from_path is not None:
            path, from_path = from_path, None
        change = Change(kind=kind, path=path, at=burst.last_at, from_path=from_path)
        if kind == "transient":
            return
        ext = extension_of(path) or NO_EXTENSION
        if ext not in self._extensions and len(self._extensions) >= EXTENSION_KEYS_LIMIT:
            ext = OTHER_EXTENSIONS
        self._extensions[ext] = self._extensions.get(ext, 0) + 1
        if self.samples_limit > 0:
            self._samples.append(change)
        self.recent.append(change)

    def take(self, now: float) -> WindowReport:
        """Settle everything and return the window's report, resetting it."""
        self.settle(now, force=True)
        counts: dict[str, int] = {kind: self._counts[kind] for kind in COUNTED_KINDS}
        counts["total"] = sum(counts.values())
        counts["transient"] = self._counts["transient"]
        ranked = sorted(self._extensions.items(), key=lambda kv: (-kv[1], kv[0]))
        report = WindowReport(
            counts=counts,
            top_extensions=[{"ext": e, "count": c} for e, c in ranked[:TOP_EXTENSIONS]],
            path_samples=[c.to_json() for c in self._samples],
            dropped_events=self._dropped,
            events_seen=self._seen,
        )
        self._counts = dict.fromkeys(self._counts, 0)
        self._extensions = {}
        self._samples.clear()
        self._dropped = 0
        self._seen = 0
        return report


__all__ = [
    "COUNTED_KINDS",
    "RECENT_LIMIT",
    "Change",
    "ChangeKind",
    "Coalescer",
    "FileId",
    "RawEvent",
    "WindowReport",
    "iso",
]
