"""A minimal protocol agent for the ingest benchmark: on its first ``flush`` it writes
``count`` summaries (a parameter) back to back (pre-encoded), then ACKs the flush; later
flushes (the one in the stop sequence) have nothing new to report.

It speaks just enough of the contract to be supervised: handshake, ACKs for the stop
sequence, exit on ``shutdown`` or stdin EOF. No SDK, so the agent side costs as little
as possible and the figure measures Operations.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

AGENT_ID = os.environ.get("MIMOLO_AGENT_ID", "blast")
PARAMS = json.loads(os.environ.get("MIMOLO_AGENT_CONFIG") or "{}")
COUNT = int(PARAMS.get("count", 1000))
START = float(PARAMS.get("start", 1767600000.0))
OUT = sys.stdout.buffer


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _message(kind: str, **fields: object) -> bytes:
    msg = {
        "type": kind,
        "timestamp": _iso(datetime.now(UTC).timestamp()),
        "agent_id": AGENT_ID,
        "agent_label": "blast",
        "agent_version": "1.0.0",
        "protocol_version": "0.4",
        **fields,
    }
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def _summaries() -> bytes:
    """COUNT one-minute active windows, a minute apart, like a folder agent's flushes."""
    lines = []
    for i in range(COUNT):
        start = START + 60.0 * i
        window = {"start": _iso(start), "end": _iso(start + 60.0)}
        data = {
            "activity_signal": {"mode": "active", "keep_alive": True, "reason": "benchmark"},
            "window": window,
            "client_id": f"client-{i % 4}",
            "counts": {"modified": 1 + i % 7},
        }
        lines.append(_message("summary", data=data))
    return b"".join(lines)


def main() -> None:
    pending = _summaries()
    OUT.write(_message("handshake", min_app_version="0.1.0", capabilities=["summary"]))
    OUT.flush()
    for line in sys.stdin.buffer:
        cmd = json.loads(line)
        steps = cmd.get("sequence", []) if cmd.get("cmd") == "sequence" else [cmd.get("cmd")]
        for step in steps:
            if step == "flush":
                OUT.write(pending)
                pending = b""
                OUT.write(_message("ack", ack_command="flush"))
            elif step in ("stop", "shutdown"):
                OUT.write(_message("ack", ack_command=step))
            if step in ("shutdown", "reject"):
                OUT.flush()
                return
        OUT.flush()


if __name__ == "__main__":
    main()
