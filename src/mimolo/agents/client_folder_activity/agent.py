"""ClientFolderActivityAgent: counts file changes in one client's folders, never contents."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from mimolo.agents.client_folder_activity.coalesce import (
    Coalescer,
    FileId,
    RawEvent,
    WindowReport,
)
from mimolo.agents.client_folder_activity.globs import PathFilter
from mimolo.agents.client_folder_activity.roots import make_roots, overlaps_data_root
from mimolo.agents.client_folder_activity.spec import AGENT_VERSION, PARAMS, PLUGIN_ID
from mimolo.agents.client_folder_activity.watcher import FolderWatcher, WatchMode
from mimolo.agents.client_folder_activity.widget import render_recent
from mimolo.protocol import agent_env
from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal, validate_params
from mimolo.sdk.clock import Clock

logger = logging.getLogger(__name__)

SUMMARY_SCHEMA = "client_folder_activity.summary.v1"


class ClientFolderActivityAgent(BaseAgent):
    """One instance per client/workspace: watches its folders, reports change counts."""

    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = AGENT_VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    sample_interval_s: ClassVar[float | None] = 1.0
    capabilities: ClassVar[tuple[str, ...]] = ("widget",)
    CAPTURES: ClassVar[bool] = True  # paths are identifying: honour the capture pause

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, clock=clock)
        self.config = validate_params(self.params, self.config)
        self.path_filter = PathFilter.compile(
            self.config["include_globs"], self.config["exclude_globs"]
        )
        self.roots = make_roots(self.config["watch_paths"])
        data_dir = os.environ.get(agent_env.DATA_DIR)
        self.data_root = Path(data_dir).absolute() if data_dir else None
        self._wall = wall
        self._lock = threading.Lock()
        self.coalescer = Coalescer(
            window_s=float(self.config["coalesce_window_s"]),
            max_pending=int(self.config["max_pending_changes"]),
            samples_limit=int(self.config["emit_path_samples_limit"]),
        )
        self._recording = True
        self._off_record = False  # a capture pause: changes are observed, never recorded
        self.watch_mode: WatchMode = "polling" if self.config["poll_fallback"] else "native"
        self.missing: list[str] = []
        self.watcher: FolderWatcher | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def on_start(self) -> None:
        # watchfiles logs every batch at INFO; that is noise in diagnostics.
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        for root in self.roots:
            if overlaps_data_root(root.path, self.data_root):
                self.log(
                    "warning",
                    "a watch path overlaps the MiMoLo data root; its changes are ignored",
                    watch_path=str(root.path),
                    data_root=str(self.data_root),
                )
        self.watcher = FolderWatcher(
            self.roots,
            self.path_filter,
            on_batch=self._on_batch,
            on_baseline=self._on_baseline,
            on_presence=self._on_presence,
            on_mode=self._on_mode,
            on_watching=self._on_watching,
            follow_symlinks=bool(self.config["follow_symlinks"]),
            force_polling=bool(self.config["poll_fallback"]),
            poll_interval_s=float(self.config["poll_interval_s"]),
            skip=self.data_root,
            clock=self._wall,
        )
        self.watcher.start()

    def on_stop_sampling(self) -> None:
        with self._lock:
            self.coalescer.settle(self._wall(), force=True)
            self._recording = False

    def on_resume_sampling(self) -> None:
        with self._lock:
            self._recording = True

    def on_capture_paused(self, until: datetime | None) -> None:
        """Report what came before the pause, then record no path until it ends."""
        with self._lock:
            self.coalescer.settle(self._wall(), force=True)
            self._off_record = True
        self.emit_summary_now()

    def on_capture_resumed(self) -> None:
        with self._lock:
            self._off_record = False

    def on_shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    # -- watcher callbacks (watcher thread) ----------------------------------------------

    def _on_baseline(self, entries: list[tuple[str, FileId]]) -> None:
        with self._lock:
            self.coalescer.load_baseline(entries)

    def _on_batch(self, events: list[RawEvent]) -> None:
        with self._lock:
            for event in events:
                if self._recording and not self._off_record:
                    self.coalescer.feed(event)
                else:
                    self.coalescer.observe_only(event)

    def _on_presence(self, gone: list[Path], back: list[Path]) -> None:
        for path in gone:
            self.log("warning", "watch path missing", path=str(path))
        for path in back:
            self.log("info", "watch path restored", path=str(path))
        assert self.watcher is not None
        missing = [str(p) for p in self.watcher.presence.missing]
        was_missing = bool(self.missing)
        self.missing = missing
        if missing:
            self.set_health("degraded", f"watch path missing: {', '.join(missing)}")
        elif was_missing:
            self.set_health("ok", "all watch paths present")

    def _on_watching(self, mode: WatchMode, roots: int) -> None:
        self.log("info", f"watching {roots} folder(s) ({mode})", mode=mode)

    def _on_mode(self, mode: WatchMode, reason: str) -> None:
        self.watch_mode = mode
        self.log("warning", f"switched to {mode} watching", reason=reason)

    # -- sampling and summaries ----------------------------------------------------------

    def accumulate(self, now: datetime) -> None:
        with self._lock:
            self.coalescer.settle(self._wall())

    def snapshot(self, now: datetime) -> WindowReport:
        with self._lock:
            return self.coalescer.take(self._wall())

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        report: WindowReport = snapshot
        changed = report.total > 0
        data: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "client_id": self.config["client_id"],
            "client_name": self.config["client_name"],
            "counts": report.counts,
            "top_extensions": report.top_extensions,
            "path_samples": report.path_samples,
            "dropped_events": report.dropped_events,
            "events_seen": report.events_seen,
            "watch_mode": self.watch_mode,
            "missing_paths": len(self.missing),
            "activity_signal": activity_signal(
                "active",
                keep_alive=changed,
                reason=f"{report.total} file changes" if changed else "no file changes",
            ),
        }
        if not data["client_id"]:
            del data["client_id"]
        return data

    def extra_metrics(self) -> dict[str, Any]:
        with self._lock:
            return {
                "events_seen": self.coalescer.events_seen_total,
                "events_dropped": self.coalescer.events_dropped_total,
                "pending_changes": self.coalescer.pending,
                "tracked_files": self.coalescer.tracked_files,
                "watch_mode": self.watch_mode,
                "watched_paths": len(self.roots),
                "missing_paths": len(self.missing),
            }

    # -- widget --------------------------------------------------------------------------

    def render_widget(self, request: WidgetRequest) -> str:
        with self._lock:
            recent = list(self.coalescer.recent)
        title = self.config["client_name"] or self.config["client_id"] or self.agent_label
        return render_recent(str(title), recent)


__all__ = ["SUMMARY_SCHEMA", "ClientFolderActivityAgent"]
