"""TemplateAgent: the smallest useful agent, commented line by line."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from mimolo.agents.agent_template.spec import PARAMS, PLUGIN_ID, VERSION
from mimolo.sdk import BaseAgent, Param, activity_signal


class TemplateAgent(BaseAgent):
    """Counts samples between flushes. Replace ``accumulate`` with real sensing."""

    # Identity and declarations, read by the SDK.
    plugin_id: ClassVar[str] = PLUGIN_ID
    agent_version: ClassVar[str] = VERSION
    params: ClassVar[tuple[Param, ...]] = PARAMS
    # Seconds between accumulate() calls while sampling; None for event-driven agents.
    sample_interval_s: ClassVar[float | None] = 5.0

    # Aggregated state lives on the instance; it is small and bounded.
    ticks = 0

    def accumulate(self, now: datetime) -> None:
        # Called on the main loop every sample_interval_s (never while stopped).
        # Observe something cheap here and fold it into the aggregate.
        self.ticks += 1

    def snapshot(self, now: datetime) -> int:
        # Called at each flush: hand over the aggregate and reset it.
        taken, self.ticks = self.ticks, 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        # The summary's `data`. The SDK adds `window: {start, end}` for you.
        # A passive signal attaches context to work segments without creating them;
        # an agent that observes work uses activity_signal("active", keep_alive=True).
        return {
            "ticks": snapshot,
            "note": self.config["note"],
            "activity_signal": activity_signal("passive", reason="template"),
        }
