"""ScreenTrackerAgent: periodic screenshots kept privately, referenced in summaries."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from mimolo.agents.screen_tracker.imaging import parse_regions
from mimolo.agents.screen_tracker.spec import AGENT_VERSION, PARAMS, PLUGIN_ID
from mimolo.agents.screen_tracker.store import CaptureRecord, CaptureStore
from mimolo.agents.screen_tracker.widget import render_latest
from mimolo.agents.screen_tracker.worker import (
    CaptureOutcome,
    Capturer,
    CaptureSettings,
    CaptureWorker,
)
from mimolo.errors import ConfigError
from mimolo.protocol import agent_env
from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal, validate_params
from mimolo.sdk.clock import Clock, iso
from mimolo.sdk.widgets import default_manifest

SUMMARY_SCHEMA = "screen_tracker.summary.v1"
REFS_PER_SUMMARY = 50


def settings_from(config: dict[str, Any]) -> CaptureSettings:
    """The capture settings an instance's validated parameters describe."""
    return CaptureSettings(
        mode=config["mode"],
        image_format=config["image_format"],
        quality=int(config["jpeg_quality"]),
        scale=float(config["scale"]),
        max_dimension=int(config["max_dimension_px"]),
        regions=tuple(parse_regions(config["redact_regions"])),
        monitor=int(config["monitor"]),
        timeout_s=float(config["capture_timeout_s"]),
        retention_class=str(config["retention_class"]) or "standard",
    )


class ScreenTrackerAgent(BaseAgent):
    """Captures in its own thread; heartbeats never wait for the screen."""

    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = AGENT_VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    sample_interval_s: ClassVar[float | None] = None
    capabilities: ClassVar[tuple[str, ...]] = ("widget", "artifacts")
    CAPTURES: ClassVar[bool] = True  # no screenshot while capture is paused

    def __init__(self, config: dict[str, Any] | None = None, *, clock: Clock | None = None):
        super().__init__(config, clock=clock)
        self.config = validate_params(self.params, self.config)
        self.settings = settings_from(self.config)
        if self.instance_dir is None:
            raise ConfigError(
                "is not set; captures need the instance folder", field=agent_env.INSTANCE_DIR
            )
        self.store = CaptureStore(self.instance_dir)
        self._lock = threading.Lock()
        self._refs: deque[dict[str, Any]] = deque(maxlen=REFS_PER_SUMMARY)
        self._captures = self._failures = self._dropped = 0
        self.captures_total = self.failures_total = 0
        self.latest: CaptureRecord | None = None
        self.problem: str | None = None
        self.worker = CaptureWorker(
            Capturer(self.settings, self.store),
            interval_s=float(self.config["capture_interval_s"]),
            now=self.clock.now,
            on_result=self._on_result,
            on_problem=self._on_problem,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def on_start(self) -> None:
        self.latest = self.store.latest()
        self.worker.start(immediately=True)

    def on_stop_sampling(self) -> None:
        self.worker.paused = True

    def on_resume_sampling(self) -> None:
        self.worker.paused = False
        self.worker.request()

    def on_capture_paused(self, until: datetime | None) -> None:
        self.worker.off_record = True

    def on_capture_resumed(self) -> None:
        self.worker.off_record = False
        self.worker.request()

    def on_shutdown(self) -> None:
        self.worker.stop()

    # -- worker callbacks (capture thread) -----------------------------------------------

    def _on_result(self, outcome: CaptureOutcome) -> None:
        with self._lock:
            if len(self._refs) == self._refs.maxlen:
                self._dropped += 1  # the oldest reference falls out of this summary
            self._refs.append(outcome.record.ref())
            self._captures += 1
            self.captures_total += 1
            self.latest = outcome.record
        self._transition(outcome.degraded)

    def _on_problem(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self.failures_total += 1
        self._transition(reason)

    def _transition(self, problem: str | None) -> None:
        """Log and announce health only when the problem changes (once per transition)."""
        with self._lock:
            if problem == self.problem:
                return
            before, self.problem = self.problem, problem
        if problem is None:
            self.log("info", "screen capture working again", previous=before or "")
            self.set_health("ok", "capturing")
        else:
            self.log("warning", problem)
            self.set_health("degraded", problem)

    # -- summaries -----------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, Any]:
        with self._lock:
            taken = {
                "artifacts": list(self._refs),
                "captures": self._captures,
                "failed_captures": self._failures,
                "dropped_artifacts": self._dropped,
            }
            self._refs.clear()
            self._captures = self._failures = self._dropped = 0
            return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": SUMMARY_SCHEMA, **snapshot}
        data["mode"] = self.settings.mode
        data["degraded_reason"] = self.problem
        data["activity_signal"] = activity_signal("passive", reason="visual breadcrumbs")
        return data

    def extra_metrics(self) -> dict[str, Any]:
        with self._lock:
            latest = self.latest
            return {
                "captures_total": self.captures_total,
                "failed_captures_total": self.failures_total,
                "last_capture_at": None if latest is None else iso(latest.captured_at),
                "capture_ok": self.problem is None,
            }

    # -- widget --------------------------------------------------------------------------

    def widget_manifest(self) -> dict[str, Any] | None:
        return default_manifest(supported_actions=("refresh", "capture_now"))

    def handle_widget_action(self, action: str, args: dict[str, Any]) -> None:
        if action == "capture_now":
            self.worker.request()
            return
        super().handle_widget_action(action, args)

    def render_widget(self, request: WidgetRequest) -> str:
        with self._lock:
            latest, problem = self.latest, self.problem
        return render_latest(self.agent_label, latest, problem)


__all__ = ["SUMMARY_SCHEMA", "ScreenTrackerAgent", "settings_from"]
