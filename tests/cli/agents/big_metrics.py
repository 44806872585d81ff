"""A test agent (stdlib only) whose every heartbeat carries ``metrics_bytes`` of metrics.

It speaks the agent protocol just enough for Operations to supervise it: a handshake,
heartbeats every ``MIMOLO_HEARTBEAT_INTERVAL_S``, and ``flush`` / ``stop`` / ``shutdown``
acknowledged (a summary per flush).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any

CONFIG: dict[str, Any] = json.loads(os.environ.get("MIMOLO_AGENT_CONFIG") or "{}")
METRICS_BYTES = int(CONFIG.get("metrics_bytes", 256 * 1024))
INSTANCE_ID = os.environ.get("MIMOLO_INSTANCE_ID", "big-metrics")
HEARTBEAT_S = float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15"))
LOCK = threading.Lock()
STOP = threading.Event()


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def emit(kind: str, **fields: Any) -> None:
    message = {
        "type": kind,
        "timestamp": now(),
        "agent_id": INSTANCE_ID,
        "agent_label": "big-metrics",
        "agent_version": "1.0.0",
        "protocol_version": "0.4",
        **fields,
    }
    data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    with LOCK:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            os._exit(0)


def heartbeats() -> None:
    chunk = 1024
    metrics = {f"k{i:04d}": "m" * (chunk - 16) for i in range(METRICS_BYTES // chunk)}
    while not STOP.is_set():
        emit("heartbeat", metrics=metrics)
        STOP.wait(HEARTBEAT_S)


def main() -> None:
    emit("handshake", min_app_version="0.1.0", capabilities=["summary"])
    threading.Thread(target=heartbeats, daemon=True).start()
    flushes = 0
    for line in sys.stdin.buffer:
        try:
            cmd = json.loads(line).get("cmd")
        except (ValueError, AttributeError):
            continue
        if cmd == "flush":
            flushes += 1
            signal_ = {"mode": "passive", "keep_alive": True, "reason": "test"}
            window = {"start": now(), "end": now()}
            emit("summary", data={"activity_signal": signal_, "n": flushes, "window": window})
            emit("ack", ack_command="flush")
        elif cmd == "stop":
            STOP.set()
            emit("ack", ack_command="stop")
        elif cmd == "shutdown":
            emit("ack", ack_command="shutdown")
            return


if __name__ == "__main__":
    main()
