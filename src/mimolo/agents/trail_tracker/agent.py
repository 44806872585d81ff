"""TrailTrackerAgent: a CAD user's interaction from trail-file writes, never their contents."""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mimolo.agents.trail_tracker.debounce import TrailActivity, TrailWindow
from mimolo.agents.trail_tracker.scan import Fingerprint, scan_trails, written
from mimolo.agents.trail_tracker.spec import AGENT_VERSION, PARAMS, PLUGIN_ID
from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal, validate_params
from mimolo.sdk.clock import Clock
from mimolo.sdk.widgets import escape, html_table

if TYPE_CHECKING:
    from mimolo.agents.screen_tracker.worker import CaptureOutcome, CaptureWorker

SUMMARY_SCHEMA = "trail_tracker.summary.v1"
HISTORY = 10
SCREENSHOTS_PER_SUMMARY = 20


def iso(at: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC (None stays None)."""
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat()


class TrailTrackerAgent(BaseAgent):
    """Polls the trail folder; writes make pings; inactivity after the threshold."""

    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = AGENT_VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    sample_interval_s: ClassVar[float | None] = 2.0
    capabilities: ClassVar[tuple[str, ...]] = ("widget",)

    def __init__(self, config: dict[str, Any] | None = None, *, clock: Clock | None = None):
        super().__init__(config, clock=clock)
        self.config = validate_params(self.params, self.config)
        self.folder = Path(self.config["trail_folder"]).expanduser().absolute()
        self.pattern = str(self.config["trail_glob"]) or "trail.txt*"
        self.activity = TrailActivity(
            min_ping_interval_s=float(self.config["min_ping_interval_s"]),
            inactivity_threshold_s=float(self.config["inactivity_threshold_s"]),
            start=self._now(),
        )
        self.files: dict[str, Fingerprint] | None = None
        self.problem = ""
        self.files_written: set[str] = set()
        self.history: deque[tuple[str, int, int, str]] = deque(maxlen=HISTORY)
        self._shots_lock = threading.Lock()
        self._shots: deque[dict[str, Any]] = deque(maxlen=SCREENSHOTS_PER_SUMMARY)
        self.screenshot_problem: str | None = None
        self.screenshots: CaptureWorker | None = None
        if self.config["screenshot"]:
            self.screenshots = self._screenshot_worker()

    def _screenshot_worker(self) -> CaptureWorker | None:
        """A low-resolution, on-demand capture worker (screen_tracker's pipeline)."""
        if self.instance_dir is None:
            return None
        from mimolo.agents.screen_tracker.store import CaptureStore
        from mimolo.agents.screen_tracker.worker import Capturer, CaptureSettings, CaptureWorker

        settings = CaptureSettings(image_format="jpeg", quality=50, scale=0.25, max_dimension=640)
        return CaptureWorker(
            Capturer(settings, CaptureStore(self.instance_dir)),
            interval_s=None,
            now=self.clock.now,
            on_result=self._on_screenshot,
            on_problem=self._on_screenshot_problem,
        )

    def _on_screenshot(self, outcome: CaptureOutcome) -> None:
        with self._shots_lock:
            self._shots.append(outcome.record.ref())
        self._on_screenshot_problem(None)

    def _on_screenshot_problem(self, problem: str | None) -> None:
        """Screenshots are optional: a problem is logged once per transition, no health change."""
        with self._shots_lock:
            if problem == self.screenshot_problem:
                return
            self.screenshot_problem = problem
        if problem is None:
            self.log("info", "ping screenshots working")
        else:
            self.log("warning", f"ping screenshot failed: {problem}")

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- sampling ------------------------------------------------------------------------

    def on_start(self) -> None:
        self._scan(self._now(), baseline=True)
        if self.screenshots is not None:
            self.screenshots.start(immediately=False)

    def on_shutdown(self) -> None:
        if self.screenshots is not None:
            self.screenshots.stop()

    def accumulate(self, now: datetime) -> None:
        self._scan(now.timestamp(), baseline=False)

    def on_resume_sampling(self) -> None:
        # Writes while stopped are not interaction we may record: re-baseline.
        self._scan(self._now(), baseline=True)

    def _scan(self, now: float, *, baseline: bool) -> None:
        result = scan_trails(self.folder, self.pattern)
        if result.files is None:
            if not self.problem:  # once per transition
                self.problem = result.problem
                self.log("warning", result.problem, folder=str(self.folder))
                self.report_error(result.problem, severity="warning")
                self.set_health("degraded", result.problem)
            self.files = None
            self.activity.tick(now)
            return
        if self.problem:
            self.log("info", "trail folder available again", folder=str(self.folder))
            self.problem = ""
            self.set_health("ok", "trail folder available")
            baseline = True  # what is there on return is not new interaction
        before, self.files = self.files, result.files
        if before is None or baseline:
            self.activity.tick(now)
            return
        changed = written(before, result.files)
        if changed:
            self.files_written.update(changed[:64])
            if self.activity.write(now) and self.screenshots is not None:
                self.screenshots.request()  # never waits: the worker thread captures
        else:
            self.activity.tick(now)

    # -- summaries -----------------------------------------------------------------------

    def snapshot(self, now: datetime) -> tuple[TrailWindow, int, list[dict[str, Any]]]:
        window = self.activity.take(now.timestamp())
        touched = len(self.files_written)
        self.files_written = set()
        with self._shots_lock:
            shots = list(self._shots)
            self._shots.clear()
        return window, touched, shots

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        window, touched, shots = snapshot
        assert isinstance(window, TrailWindow)
        data: dict[str, Any] = {
            "schema": SUMMARY_SCHEMA,
            "pings": window.pings,
            "writes": window.writes,
            "ping_times": [iso(t) for t in window.ping_times],
            "last_write_at": iso(window.last_write_at),
            "files_seen": len(self.files or {}),
            "files_written": touched,
            "folder_available": self.files is not None,
            "active_now": window.active_now,
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "activity_signal": activity_signal(
                "active",
                keep_alive=window.was_active,
                reason=(
                    f"{window.writes} trail writes"
                    if window.writes
                    else ("within the inactivity threshold" if window.was_active else "idle")
                ),
            ),
        }
        if window.active_from is not None and window.active_to is not None:
            # The timeline counts the whole window as active: report only the active span.
            data["window"] = {"start": iso(window.active_from), "end": iso(window.active_to)}
        if self.config["client_id"]:
            data["client_id"] = self.config["client_id"]
        if self.config["screenshot"]:
            data["screenshots"] = shots
            data["screenshot_problem"] = self.screenshot_problem
        self.history.appendleft(
            (
                f"{end:%H:%M:%S}",
                window.writes,
                window.pings,
                "active" if window.was_active else "idle",
            )
        )
        return data

    def extra_metrics(self) -> dict[str, Any]:
        return {
            "files_seen": len(self.files or {}),
            "folder_available": self.files is not None,
            "active": self.activity.active,
        }

    def render_widget(self, request: WidgetRequest) -> str:
        state = "active" if self.activity.active else "inactive"
        last = iso(self.activity.last_write_at) or "never"
        head = (
            f"<header><h3>{escape(self.agent_label)}</h3></header>"
            f"<p>CAD user {escape(state)}; last trail write {escape(last)}.</p>"
        )
        if self.problem:
            head += f'<p class="w-warn">{escape(self.problem)}</p>'
        table = html_table(("time (UTC)", "writes", "pings", "state"), list(self.history))
        return f"<section>{head}{table}</section>"


__all__ = ["SUMMARY_SCHEMA", "TrailTrackerAgent"]
