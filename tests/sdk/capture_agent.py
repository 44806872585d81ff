"""A capturing test agent (``CAPTURES = True``): counts samples unless capture is paused.

It logs ``capture paused`` / ``capture resumed`` from the hooks so tests (the SDK's and
the end-to-end ones under a real ``mimolo ops``) see that the commands arrived. Runs as a
script: ``python tests/sdk/capture_agent.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from mimolo.sdk import BaseAgent, activity_signal
from mimolo.sdk.clock import iso


class CaptureAgent(BaseAgent):
    """Counts samples taken while capture is not paused."""

    plugin_id: ClassVar[str] = "capture_probe"
    sample_interval_s: ClassVar[float | None] = 0.5
    CAPTURES: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.captured = 0
        self.events: list[str] = []

    def accumulate(self, now: datetime) -> None:
        if not self.capture_paused:
            self.captured += 1

    def snapshot(self, now: datetime) -> int:
        taken, self.captured = self.captured, 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        return {"captured": snapshot, "activity_signal": activity_signal("passive")}

    def on_capture_paused(self, until: datetime | None) -> None:
        self.events.append("paused")
        self.log("info", "capture paused", until=iso(until) if until else None)

    def on_capture_resumed(self) -> None:
        self.events.append("resumed")
        self.log("info", "capture resumed")


if __name__ == "__main__":
    CaptureAgent.main()
