#!/usr/bin/env python3
"""An example MiMoLo agent in plain Python: the standard library only, no mimolo import.

It speaks the agent protocol by hand (one JSON object per line on stdout, commands on
stdin): a handshake first, a heartbeat every MIMOLO_HEARTBEAT_INTERVAL_S seconds, a
summary on every flush, ACKs for stop/flush/shutdown, a status answer, and it exits when
stdin closes. What it "observes" is a tick counter, so it is for demos and tests only.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from datetime import datetime, timezone

VERSION = "1.0.0"
AGENT_ID = os.environ.get("MIMOLO_AGENT_ID", "py-stdlib-counter")
AGENT_LABEL = os.environ.get("MIMOLO_AGENT_LABEL", AGENT_ID)
HEARTBEAT_S = max(0.1, float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15")))


def load_params() -> dict[str, object]:
    """The instance's parameters (MIMOLO_AGENT_CONFIG, a JSON object)."""
    try:
        params = json.loads(os.environ.get("MIMOLO_AGENT_CONFIG", "{}"))
    except ValueError:
        params = {}
    return params if isinstance(params, dict) else {}


PARAMS = load_params()
MODE = "active" if PARAMS.get("mode") == "active" else "passive"


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: UP017 (3.8+)


def emit(message_type: str, **fields: object) -> None:
    """One protocol line on stdout (the envelope every message carries)."""
    line: dict[str, object] = {
        "type": message_type,
        "timestamp": now(),
        "agent_id": AGENT_ID,
        "agent_label": AGENT_LABEL,
        "agent_version": VERSION,
        "protocol_version": "0.3",
        "data": {},
    }
    line.update(fields)
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Counter:
    """Ticks since the last flush, and the window they cover."""

    def __init__(self) -> None:
        self.ticks = 0
        self.window_start = now()

    def summary(self) -> None:
        end = now()
        emit(
            "summary",
            data={
                "ticks": self.ticks,
                "window": {"start": self.window_start, "end": end},
                "activity_signal": {
                    "mode": MODE,
                    "keep_alive": MODE == "active",
                    "reason": "example ticks",
                },
            },
        )
        self.ticks, self.window_start = 0, end


def heartbeat() -> None:
    emit(
        "heartbeat",
        metrics={
            "cpu_percent_recent": 0.0,
            "cpu_percent_avg_60s": 0.0,
            "cpu_budget_percent": float(os.environ.get("MIMOLO_CPU_BUDGET_PERCENT", "1.0")),
            "cpu_budget_ok": True,
            "cpu_over_budget_seconds": 0.0,
            "mem_mb": 10.0,
            "queue": 0,
        },
    )


def handle(command: dict[str, object], counter: Counter) -> bool:
    """Act on one command; False when the agent should exit."""
    name = command.get("cmd")
    steps = command.get("sequence") if name == "sequence" else [name]
    for step in steps if isinstance(steps, list) else []:
        if step == "flush":
            counter.summary()
            emit("ack", ack_command="flush")
        elif step in ("stop", "start"):
            emit("ack", ack_command=step)
        elif step == "status":
            emit("status", health="ok", message=f"{counter.ticks} ticks since the last flush")
        elif step == "shutdown":
            emit("ack", ack_command="shutdown")
            return False
    return True


def main() -> int:
    emit("handshake", min_app_version="0.3.0", capabilities=["summary", "heartbeat", "status"])
    counter = Counter()
    buffer = b""
    next_beat = time.monotonic() + HEARTBEAT_S
    while True:
        wait = max(0.0, next_beat - time.monotonic())
        readable, _, _ = select.select([0], [], [], wait)
        if time.monotonic() >= next_beat:
            counter.ticks += 1
            heartbeat()
            next_beat = time.monotonic() + HEARTBEAT_S
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return 0  # Operations went away: stdin closed
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            try:
                command = json.loads(raw)
            except ValueError:
                emit("error", message="a command line that is not JSON")
                continue
            if isinstance(command, dict) and not handle(command, counter):
                return 0


if __name__ == "__main__":
    sys.exit(main())
