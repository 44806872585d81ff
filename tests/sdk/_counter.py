"""Counter, the small BaseAgent the SDK tests drive, and ``kinds`` to read what it sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from mimolo.protocol import AckMessage
from mimolo.protocol.messages import AgentMessage
from mimolo.sdk import BaseAgent, activity_signal
from mimolo.testing import message_type


class Counter(BaseAgent):
    """Counts samples; active while anything was counted."""

    plugin_id: ClassVar[str] = "counter"
    sample_interval_s: ClassVar[float | None] = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = 0
        self.events: list[str] = []

    def accumulate(self, now: datetime) -> None:
        self.count += 1

    def snapshot(self, now: datetime) -> int:
        taken, self.count = self.count, 0
        return taken

    def summarize(self, snapshot: Any, start: datetime, end: datetime) -> dict[str, Any]:
        return {"count": snapshot, "activity_signal": activity_signal("active", snapshot > 0)}

    def on_stop_sampling(self) -> None:
        self.events.append("stop")

    def on_resume_sampling(self) -> None:
        self.events.append("start")

    def on_shutdown(self) -> None:
        self.events.append("shutdown")


def kinds(messages: list[AgentMessage]) -> list[str]:
    out = []
    for m in messages:
        kind = message_type(m)
        out.append(f"ack {m.ack_command}" if isinstance(m, AckMessage) else kind)
    return out
