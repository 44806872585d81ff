"""A misbehaving-on-purpose agent for Operations tests (stdlib only, starts fast).

Behaviour comes from ``MIMOLO_AGENT_CONFIG`` (``{"behavior": ...}``):

- ``good``: handshake, heartbeats, a summary per flush, executes ``sequence`` in order.
- ``crash``: handshake, then exits with code 3 after ``crash_after_s``.
- ``hang``: handshake, then silence; ignores stdin, SIGTERM and EOF.
- ``flood``: handshake, then log lines (and summaries with ``flood_summaries``) as fast
  as possible.
- ``garbage``: handshake, then malformed, oversized, invalid UTF-8 and unknown-type lines,
  then behaves like ``good``.
- ``bad_version``: handshake with protocol_version 9.9.
- ``silent``: never says anything (no handshake), but exits on stdin EOF.
- ``not_handshake``: the first line is a heartbeat.
- ``quiet``: like ``good`` but never heartbeats.
- ``burn``: like ``good`` but spins the CPU.
- ``stderr``: like ``good`` after writing to stderr (one very long line).
- ``endless``: handshake, then one line that never ends (4 KiB every 50 ms).

``widget_render`` is answered with a ``widget_frame`` echoing ``args.request_id``. The
agent's MIMOLO_* environment is written to ``$MIMOLO_INSTANCE_DIR/env.json`` at start.

Every command received is appended to ``$MIMOLO_INSTANCE_DIR/commands.jsonl``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

CONFIG: dict[str, Any] = json.loads(os.environ.get("MIMOLO_AGENT_CONFIG") or "{}")
BEHAVIOR = CONFIG.get("behavior", "good")
INSTANCE_ID = os.environ.get("MIMOLO_INSTANCE_ID", "scripted")
INSTANCE_DIR = os.environ.get("MIMOLO_INSTANCE_DIR", ".")
HEARTBEAT_S = float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15"))
OUT = sys.stdout.buffer
LOCK = threading.Lock()


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def emit(kind: str, **fields: Any) -> None:
    msg = {
        "type": kind,
        "timestamp": now(),
        "agent_id": INSTANCE_ID,
        "agent_label": "scripted",
        "agent_version": "1.0.0",
        "protocol_version": fields.pop("protocol_version", "0.4"),
        **fields,
    }
    raw(json.dumps(msg).encode() + b"\n")


def raw(data: bytes) -> None:
    with LOCK:
        try:
            OUT.write(data)
            OUT.flush()
        except BrokenPipeError:
            os._exit(0)


def record(line: bytes) -> None:
    with open(os.path.join(INSTANCE_DIR, "commands.jsonl"), "ab") as fh:
        fh.write(line.rstrip(b"\n") + b"\n")


def summary(n: int) -> None:
    emit(
        "summary",
        data={
            "activity_signal": {"mode": "active", "keep_alive": True, "reason": "test"},
            "n": n,
            "window": {"start": now(), "end": now()},
        },
    )


def heartbeats() -> None:
    while True:
        time.sleep(HEARTBEAT_S)
        emit("heartbeat", metrics={"queue": 0})


def serve_commands() -> None:
    """Execute commands until EOF or shutdown, like the SDK does."""
    flushes = 0
    for line in sys.stdin.buffer:
        record(line)
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        steps = cmd.get("sequence", []) if cmd.get("cmd") == "sequence" else [cmd.get("cmd")]
        for step in steps:
            if step == "flush":
                flushes += 1
                summary(flushes)
                emit("ack", ack_command="flush")
            elif step == "stop":
                emit("ack", ack_command="stop")
            elif step == "shutdown":
                emit("ack", ack_command="shutdown")
                sys.exit(0)
            elif step == "reject":
                sys.exit(0)
            elif step == "widget_render":
                rid = cmd.get("args", {}).get("request_id", "")
                emit("widget_frame", data={"request_id": rid, "html": "<p>hi</p>", "ttl_ms": 1000})
    sys.exit(0)


def main() -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith("MIMOLO_")}
    with open(os.path.join(INSTANCE_DIR, "env.json"), "w") as fh:
        json.dump(env, fh)
    if BEHAVIOR == "silent":
        for line in sys.stdin.buffer:
            record(line)
        return
    if BEHAVIOR == "not_handshake":
        emit("heartbeat", metrics={})
        serve_commands()
        return
    version = "9.9" if BEHAVIOR == "bad_version" else "0.4"
    emit("handshake", min_app_version="0.1.0", capabilities=["summary"], protocol_version=version)
    if BEHAVIOR == "crash":
        time.sleep(float(CONFIG.get("crash_after_s", 0.2)))
        sys.exit(3)
    if BEHAVIOR == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if BEHAVIOR == "endless":  # one line that never ends, a little every 50 ms
        while True:
            raw(b"x" * 4096)
            time.sleep(0.05)
    if BEHAVIOR != "quiet":
        threading.Thread(target=heartbeats, daemon=True).start()
    if BEHAVIOR == "burn":
        threading.Thread(target=burn, daemon=True).start()
    if BEHAVIOR == "flood":
        threading.Thread(target=flood, daemon=True).start()
    if BEHAVIOR == "garbage":
        raw(b"this is not json\n")
        raw(b'{"type": "log", "message": "bad \xff\xfe \xc3\x28"}\n')
        raw(b"[1, 2, 3]\n")
        raw(b'{"type": "summary"}\n')
        raw(b"x" * (300 * 1024) + b"\n")
        raw(
            b'{"type":"telepathy","timestamp":"2026-01-01T00:00:00Z","agent_id":"a",'
            b'"agent_label":"a","agent_version":"1"}\n'
        )
        emit("log", level="info", message="still alive after garbage")
        summary(0)
    if BEHAVIOR == "stderr":
        sys.stderr.write("warming up\n" + "e" * 10000 + "\n")
        sys.stderr.flush()
    serve_commands()


def burn() -> None:
    x = 0
    while True:
        x = (x * 31 + 7) % 1_000_003


def flood() -> None:
    n = 0
    payload = "x" * int(CONFIG.get("flood_bytes", 100))
    while True:
        n += 1
        if CONFIG.get("flood_summaries"):
            summary(n)
        else:
            emit("log", level="info", message=f"{n} {payload}")


if __name__ == "__main__":
    main()
