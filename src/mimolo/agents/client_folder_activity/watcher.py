"""The watching thread: native notifications through watchfiles, polling as the fallback.

It owns nothing but the thread: every batch is turned into :class:`RawEvent` s (filtered,
relative, stat'ed right away) and handed to ``on_batch``; presence transitions of the
roots and watch-mode changes go to their callbacks. ``stop()`` returns promptly.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import watchfiles

from mimolo.agents.client_folder_activity.coalesce import FileId, RawEvent
from mimolo.agents.client_folder_activity.globs import PathFilter
from mimolo.agents.client_folder_activity.roots import (
    Presence,
    WatchRoot,
    file_id,
    is_under,
    relative_to_root,
    scan_baseline,
)

logger = logging.getLogger(__name__)

WatchMode = Literal["native", "polling"]
# Idle cost (DESIGN §12: < 0.1 % CPU): watchfiles' Rust loop wakes every STEP_MS and takes
# the GIL to check the stop event; at the default 50 ms that alone cost 0.15 %. 250 ms adds
# nothing visible next to the 1.6 s debounce. Every TICK_MS the loop returns to Python to
# notice roots that vanished or came back.
TICK_MS = 2000
STEP_MS = 250
STOP_JOIN_S = 5.0
BASELINE_LIMIT = 100_000
DIRS_LIMIT = 50_000
RETRY_S = 2.0

BatchHandler = Callable[[list[RawEvent]], None]
BaselineHandler = Callable[[list[tuple[str, FileId]]], None]


class FolderWatcher:
    """Runs watchfiles in a thread and reports batches, presence and mode changes."""

    def __init__(
        self,
        roots: Sequence[WatchRoot],
        path_filter: PathFilter,
        *,
        on_batch: BatchHandler,
        on_baseline: BaselineHandler,
        on_presence: Callable[[list[Path], list[Path]], None],
        on_mode: Callable[[WatchMode, str], None],
        on_watching: Callable[[WatchMode, int], None] = lambda mode, roots: None,
        follow_symlinks: bool = False,
        force_polling: bool = False,
        poll_interval_s: float = 2.0,
        skip: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.roots = list(roots)
        self.filter = path_filter
        self.on_batch = on_batch
        self.on_baseline = on_baseline
        self.on_presence = on_presence
        self.on_mode = on_mode
        self.on_watching = on_watching
        self.follow_symlinks = follow_symlinks
        self.mode: WatchMode = "polling" if force_polling else "native"
        self.poll_interval_s = poll_interval_s
        self.skip = skip
        self.clock = clock
        self.presence = Presence(self.roots)
        self._dirs: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def start(self) -> None:
        """Start the thread (baseline scan, then watching)."""
        self._thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for it (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S)

    # -- thread body -----------------------------------------------------------------

    def _run(self) -> None:
        watched: set[Path] = set()
        first = True
        while not self._stop.is_set():
            gone, back = self.presence.check()
            if gone or back or first:
                self.on_presence(gone, back)
            existing = [r for r in self.roots if r.path not in set(self.presence.missing)]
            if first or back:
                self._baseline([r for r in existing if first or r.path in back])
            first = False
            self.ready.set()
            watched = {r.path for r in existing}
            if not watched:
                self._stop.wait(RETRY_S)
                continue
            try:
                self._watch(watched)
            except Exception as exc:  # a watcher failure must not end the agent
                if self.mode == "native":
                    self.mode = "polling"
                    self.on_mode("polling", f"native watching failed: {exc}")
                else:
                    logger.warning("polling failed: %s", exc)
                    self._stop.wait(RETRY_S)

    def _baseline(self, roots: Sequence[WatchRoot]) -> None:
        for root in roots:
            entries = list(
                scan_baseline(
                    root,
                    self.filter,
                    follow_symlinks=self.follow_symlinks,
                    skip=self.skip,
                    limit=BASELINE_LIMIT,
                )
            )
            self.on_baseline(entries)
            for dirpath, dirnames, _ in os.walk(root.path, followlinks=self.follow_symlinks):
                for d in dirnames:
                    if len(self._dirs) < DIRS_LIMIT:
                        self._dirs.add(os.path.join(dirpath, d))
                if len(self._dirs) >= DIRS_LIMIT:
                    break

    def _watch(self, watched: set[Path]) -> None:
        """Watch until stopped or until a root disappears/reappears."""
        announced = False
        for changes in watchfiles.watch(
            *sorted(watched),
            watch_filter=None,
            stop_event=self._stop,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
            force_polling=self.mode == "polling",
            poll_delay_ms=int(self.poll_interval_s * 1000),
            recursive=True,
            ignore_permission_denied=True,
            debounce=1600,
            step=STEP_MS,
        ):
            if not announced:  # the first yield: the watch is certainly in place
                announced = True
                self.on_watching(self.mode, len(watched))
            if changes:
                events = self._to_events(changes)
                if events:
                    self.on_batch(events)
            current = {r.path for r in self.roots if r.path.is_dir()}
            if current != watched:
                return

    def _to_events(self, changes: set[tuple[watchfiles.Change, str]]) -> list[RawEvent]:
        """One event per path: filtered, made relative, stat'ed now."""
        kinds: dict[str, set[watchfiles.Change]] = {}
        for change, path in changes:
            kinds.setdefault(path, set()).add(change)
        now = self.clock()
        link_cache: dict[str, bool] = {}
        events: list[RawEvent] = []
        for path, seen in kinds.items():
            if is_under(path, self.skip):
                continue
            found = relative_to_root(self.roots, path)
            if found is None:
                continue
            root, rel = found
            if not self.filter.accepts(rel) or (
                not self.follow_symlinks and self._through_link(root, path, link_cache)
            ):
                continue
            try:
                st = os.stat(path, follow_symlinks=self.follow_symlinks)
            except OSError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                if len(self._dirs) < DIRS_LIMIT:
                    self._dirs.add(path)
                continue
            if st is None and path in self._dirs:
                self._dirs.discard(path)
                continue
            events.append(
                RawEvent(
                    path=root.display(rel),
                    at=now,
                    file_id=None if st is None else file_id(st),
                    appeared=watchfiles.Change.added in seen,
                )
            )
        return events

    @staticmethod
    def _through_link(root: WatchRoot, path: str, cache: dict[str, bool]) -> bool:
        """Whether a path is reached through a symlinked directory below its root."""
        base = len(str(root.path))

        def linked(directory: str) -> bool:
            if len(directory) <= base:
                return False
            if directory not in cache:
                cache[directory] = os.path.islink(directory) or linked(os.path.dirname(directory))
            return cache[directory]

        return linked(os.path.dirname(path))


__all__ = ["FolderWatcher", "WatchMode"]
