"""A tiny stdlib-only agent whose behaviour the broken-agent scripts switch off piece by piece.

With no knobs turned it passes ``mimolo agent check``; each script in this directory
breaks exactly one rule.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any

METRICS = {
    "cpu_percent_recent": 0.0,
    "cpu_percent_avg_60s": 0.0,
    "cpu_budget_percent": 2.0,
    "cpu_budget_ok": True,
    "cpu_over_budget_seconds": 0.0,
    "mem_mb": 9.0,
    "queue": 0,
}


class MiniAgent:
    """A correct agent by default; the attributes break it."""

    handshake = True
    heartbeats = True
    obey_shutdown = True
    ack_before_summary_in_sequence = False
    garbage_after_handshake: str | None = None
    invalid_line_after_handshake: dict[str, Any] | None = None
    widget_html: str | None = None

    def __init__(self) -> None:
        self.interval = float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15"))
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def emit(self, message_type: str, **fields: Any) -> None:
        line = {
            "type": message_type,
            "timestamp": datetime.now(UTC).isoformat(),
            "agent_id": "mini",
            "agent_label": "mini",
            "agent_version": "0.0.1",
            "protocol_version": "0.4",
            "data": {},
        }
        line.update(fields)
        self.write(json.dumps(line))

    def summary(self) -> None:
        self.emit("summary", data={"activity_signal": {"mode": "passive"}})

    def heartbeat_loop(self) -> None:
        while not threading.Event().wait(self.interval):
            self.emit("heartbeat", metrics=METRICS)

    def run(self) -> None:
        if self.handshake:
            caps = ["summary"] if self.widget_html is None else ["summary", "widget"]
            self.emit("handshake", min_app_version="0.1.0", capabilities=caps)
        if self.garbage_after_handshake is not None:
            self.write(self.garbage_after_handshake)
        if self.invalid_line_after_handshake is not None:
            self.write(json.dumps(self.invalid_line_after_handshake))
        if self.heartbeats:
            threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        for raw in sys.stdin:
            cmd = json.loads(raw)
            name = cmd.get("cmd")
            if name == "flush":
                self.summary()
                self.emit("ack", ack_command="flush")
            elif name == "stop":
                self.emit("ack", ack_command="stop")
            elif name == "widget_render" and self.widget_html is not None:
                data = {"request_id": cmd["args"]["request_id"], "html": self.widget_html}
                self.emit("widget_frame", data={**data, "mode": "html_fragment_v1"})
            elif name == "status":
                self.emit("status", health="ok")
            elif name == "sequence":
                for step in cmd["sequence"]:
                    if step == "stop":
                        self.emit("ack", ack_command="stop")
                    elif step == "flush" and self.ack_before_summary_in_sequence:
                        self.emit("ack", ack_command="flush")
                        self.summary()
                    elif step == "flush":
                        self.summary()
                        self.emit("ack", ack_command="flush")
            elif name == "shutdown" and self.obey_shutdown:
                self.emit("ack", ack_command="shutdown")
                return
        # stdin EOF: exit


if __name__ == "__main__":
    MiniAgent().run()
