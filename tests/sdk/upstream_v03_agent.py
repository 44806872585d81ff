"""A stand-in for an unmodified upstream MiMoLo v0.3 agent (stdlib only, no mimolo imports).

Behaves like the upstream v0.3 BaseAgent: handshake first (protocol 0.3); heartbeats that
leave out ``protocol_version`` and ``data``; a standalone ``flush`` puts the snapshot on a
queue and ACKs before a worker thread emits the summary; a ``sequence`` flushes
synchronously (summary then ACK); ``stop`` is ACKed, ``start`` is not; ``status`` is
ignored; ``shutdown`` logs "Shutting down" and exits; command ``id``s are never echoed.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

AGENT_ID = os.environ.get("MIMOLO_AGENT_ID", "upstream-v03")
AGENT_LABEL = os.environ.get("MIMOLO_AGENT_LABEL", AGENT_ID)
HEARTBEAT_S = float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15"))

_lock = threading.Lock()
_flush_queue: queue.Queue[tuple[int, str, str]] = queue.Queue(maxsize=16)
_count = 0
_window_start = datetime.now(UTC).isoformat()


def emit(message_type: str, **fields: Any) -> None:
    """One JSON line on stdout, the upstream envelope."""
    line: dict[str, Any] = {
        "type": message_type,
        "timestamp": datetime.now(UTC).isoformat(),
        "agent_id": AGENT_ID,
        "agent_label": AGENT_LABEL,
        "agent_version": "0.3.2",
    }
    line.update(fields)
    with _lock:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def take_snapshot() -> tuple[int, str, str]:
    global _count, _window_start
    end = datetime.now(UTC).isoformat()
    snap = (_count, _window_start, end)
    _count, _window_start = 0, end
    return snap


def emit_summary(snap: tuple[int, str, str]) -> None:
    count, start, end = snap
    emit(
        "summary",
        protocol_version="0.3",
        data={
            "events": count,
            "window": {"start": start, "end": end},
            "activity_signal": {"mode": "passive", "keep_alive": None, "reason": None},
        },
    )


def flush_worker() -> None:
    while True:
        snap = _flush_queue.get()
        time.sleep(0.05)  # upstream's summary arrives after its ACK
        emit_summary(snap)


def heartbeat_loop(stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        emit(
            "heartbeat",
            metrics={
                "cpu_percent_recent": 0.0,
                "cpu_percent_avg_60s": 0.0,
                "cpu_budget_percent": 2.0,
                "cpu_budget_ok": True,
                "cpu_over_budget_seconds": 0.0,
                "mem_mb": 10.0,
                "queue": _flush_queue.qsize(),
            },
        )


def main() -> int:
    emit(
        "handshake",
        protocol_version="0.3",
        data={},
        min_app_version="0.3.0",
        capabilities=["summary", "heartbeat"],
    )
    stop = threading.Event()
    threading.Thread(target=heartbeat_loop, args=(stop,), daemon=True).start()
    threading.Thread(target=flush_worker, daemon=True).start()
    global _count
    for raw in sys.stdin:
        try:
            cmd = json.loads(raw)
        except ValueError:
            emit("error", message="invalid command")
            continue
        name = cmd.get("cmd") if isinstance(cmd, dict) else None
        if name == "flush":
            _flush_queue.put(take_snapshot())
            emit("ack", ack_command="flush")
        elif name == "stop":
            emit("ack", ack_command="stop")
        elif name == "sequence":
            for step in cmd.get("sequence", []):
                if step == "stop":
                    emit("ack", ack_command="stop")
                elif step == "flush":
                    emit_summary(take_snapshot())
                    emit("ack", ack_command="flush")
                elif step == "shutdown":
                    emit("log", level="info", message="Shutting down")
                    return 0
        elif name == "shutdown":
            emit("log", level="info", message="Shutting down")
            return 0
        elif name in ("start", "status", "ack"):
            _count += 1
        else:
            emit("log", level="warning", message=f"unknown command {name!r}")
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
