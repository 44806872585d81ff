"""ExampleAgent: counts synthetic activity per sample and shows recent summaries."""

from __future__ import annotations

import random
from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from mimolo.agents.agent_example.spec import PARAMS, PLUGIN_ID, VERSION
from mimolo.sdk import BaseAgent, Param, WidgetRequest, activity_signal, html_table
from mimolo.sdk.clock import Clock

_HISTORY = 10


class ExampleAgent(BaseAgent):
    """Each sample is active with ``activity_probability``; a summary counts them."""

    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    sample_interval_s: ClassVar[float | None] = 1.0

    def __init__(self, config: dict[str, Any] | None = None, *, clock: Clock | None = None):
        super().__init__(config, clock=clock)
        seed = int(self.config.get("seed") or 0)
        self._rng = random.Random(seed or None)
        self._samples = 0
        self._active = 0
        self._history: deque[tuple[str, int, int, str]] = deque(maxlen=_HISTORY)

    def accumulate(self, now: datetime) -> None:
        """One sample: active with ``activity_probability``."""
        self._samples += 1
        if self._rng.random() < float(self.config["activity_probability"]):
            self._active += 1

    def snapshot(self, now: datetime) -> tuple[int, int]:
        """Hand over (samples, active samples) and reset."""
        taken = (self._samples, self._active)
        self._samples = self._active = 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        """Counts plus the activity signal for the configured mode."""
        samples, active = snapshot
        mode = self.config["mode"]
        if mode == "active":
            signal = activity_signal(
                "active", keep_alive=active > 0, reason="synthetic" if active else "idle"
            )
        else:
            signal = activity_signal("passive", reason="synthetic")
        data: dict[str, Any] = {
            "samples": samples,
            "active_samples": active,
            "activity_signal": signal,
        }
        if self.config["client_id"]:
            data["client_id"] = self.config["client_id"]
        self._history.appendleft((f"{end:%H:%M:%S}", samples, active, mode))
        return data

    def render_widget(self, request: WidgetRequest) -> str:
        """The last summaries, newest first."""
        rows = list(self._history)
        if not rows:
            return '<div><p class="w-muted">No summaries yet.</p></div>'
        table = html_table(("time (UTC)", "samples", "active", "mode"), rows)
        return f"<div><h3>Recent summaries</h3>{table}</div>"
