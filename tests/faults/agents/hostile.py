"""A hostile agent for the fault-injection suite (stdlib only, starts fast).

The ``mode`` param (``MIMOLO_AGENT_CONFIG``) picks the behaviour after a proper handshake:

- ``good``: heartbeats, a summary per flush, the stop sequence in order.
- ``flood``: lines of type ``flood_type`` (ack, log, status, error, heartbeat, widget_frame,
  summary) as fast as it can until ``stop`` (and ``linger_s`` longer: chatty while
  stopping); then the stop sequence.
- ``huge_lines``: ``count`` lines of ``line_bytes`` each (1 MiB, 10 MiB), then good.
- ``endless``: one unterminated line, forever; ignores every command and SIGTERM.
- ``invalid_utf8`` / ``nul``: ``count`` lines each, then good.
- ``deep``: ``count`` each of a summary, log and heartbeat nested ``depth`` levels inside
  ``data`` / ``extra`` / ``metrics`` (valid envelopes otherwise), then good.
- ``crash``: exits with status 3 right after the handshake.
- ``ignore_term``: heartbeats, but ignores SIGTERM, stdin EOF and every command.
- ``spawn``: starts ``count`` setsid grandchildren and ``count`` plain children that sleep
  forever (pids in ``$MIMOLO_INSTANCE_DIR/descendants.pids``), then good.
- ``hang``: silence after the handshake; ignores stdin, EOF and SIGTERM.
- ``big_heartbeat``: heartbeats whose ``metrics`` hold ``metrics_bytes`` (256 KiB), then good.
- ``handshake_summary``: the handshake and a valid summary in one write, then good.
- ``burst``: ``count`` valid summaries right after the handshake, then good.

Every line written is counted by kind; ``$MIMOLO_INSTANCE_DIR/sent-<pid>.json`` holds the
counts (``final: true`` once the stop sequence finished), so tests can check that every
line Operations did not keep was counted as dropped or rejected.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

CONFIG: dict[str, Any] = json.loads(os.environ.get("MIMOLO_AGENT_CONFIG") or "{}")
MODE = str(CONFIG.get("mode", "good"))
COUNT = int(CONFIG.get("count", 3))
INSTANCE_ID = os.environ.get("MIMOLO_INSTANCE_ID", "hostile")
INSTANCE_DIR = os.environ.get("MIMOLO_INSTANCE_DIR", ".")
HEARTBEAT_S = float(os.environ.get("MIMOLO_HEARTBEAT_INTERVAL_S", "15"))
OUT_FD = sys.stdout.fileno()
LOCK = threading.Lock()
SENT: Counter[str] = Counter()
STOPPING = threading.Event()
BATCH = 64


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def envelope(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "timestamp": now(),
        "agent_id": INSTANCE_ID,
        "agent_label": "hostile",
        "agent_version": "1.0.0",
        "protocol_version": "0.4",
        **fields,
    }


def line(kind: str, **fields: Any) -> bytes:
    return json.dumps(envelope(kind, **fields), separators=(",", ":")).encode() + b"\n"


def write(data: bytes, counts: dict[str, int]) -> None:
    """Write all of ``data`` and count its lines by kind (under the one output lock)."""
    with LOCK:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(OUT_FD, view) :]
        except (BrokenPipeError, OSError):
            save(final=False)
            os._exit(0)
        SENT.update(counts)


def emit(kind: str, **fields: Any) -> None:
    write(line(kind, **fields), {kind: 1})


def save(*, final: bool) -> None:
    """Atomically record what was written so far."""
    path = os.path.join(INSTANCE_DIR, f"sent-{os.getpid()}.json")
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump({"pid": os.getpid(), "final": final, "sent": dict(SENT)}, fh)
    os.replace(tmp, path)


def summary_fields(n: int) -> dict[str, Any]:
    signal_ = {"mode": "active", "keep_alive": True, "reason": "hostile"}
    return {"data": {"activity_signal": signal_, "n": n, "window": {"start": now(), "end": now()}}}


def heartbeats() -> None:
    while not STOPPING.is_set():
        emit("heartbeat", metrics={"queue": 0})
        with LOCK:
            save(final=False)
        STOPPING.wait(HEARTBEAT_S)


def big_heartbeats() -> None:
    size = int(CONFIG.get("metrics_bytes", 256 * 1024))
    chunk = 1024
    metrics = {f"k{i:04d}": "m" * (chunk - 16) for i in range(size // chunk)}
    while not STOPPING.is_set():
        emit("heartbeat", metrics=metrics)
        STOPPING.wait(HEARTBEAT_S)


def flood_line(kind: str, n: int) -> bytes:
    if kind == "summary":
        return line("summary", **summary_fields(n))
    if kind == "ack":
        return line("ack", ack_command="flood", message=str(n))
    if kind == "log":
        return line("log", level="info", message=f"flood {n}")
    if kind == "status":
        return line("status", health="ok", message=f"flood {n}")
    if kind == "error":
        return line("error", message=f"flood {n}")
    if kind == "heartbeat":
        return line("heartbeat", metrics={"queue": n})
    if kind == "widget_frame":
        data = {"request_id": f"unsolicited-{n}", "html": "<p>x</p>", "ttl_ms": 1000}
        return line("widget_frame", data=data)
    raise SystemExit(f"unknown flood_type {kind!r}")


def flood() -> None:
    kind = str(CONFIG.get("flood_type", "log"))
    n = 0
    while not STOPPING.is_set():
        batch = b"".join(flood_line(kind, n + i) for i in range(BATCH))
        n += BATCH
        write(batch, {kind: BATCH})


def nested(depth: int) -> str:
    """An object holding ``depth`` nested arrays, as text (json.dumps would recurse);
    arrays keep 100,000 levels at 200 KB, under the default line cap."""
    return '{"d":' + "[" * depth + "]" * depth + "}"


def deep_lines(depth: int) -> list[bytes]:
    inner = nested(depth)
    marker = "@@DEEP@@"
    out = []
    for kind, fields in (
        ("summary", {"data": marker}),
        ("log", {"level": "info", "message": "deep", "extra": marker}),
        ("heartbeat", {"metrics": marker}),
    ):
        text = json.dumps(envelope(kind, **fields), separators=(",", ":"))
        out.append(text.replace(f'"{marker}"', inner).encode() + b"\n")
    return out


def misbehave() -> None:
    """The one-shot hostile output of the line-level modes."""
    if MODE == "huge_lines":
        size = int(CONFIG.get("line_bytes", 1024 * 1024))
        for _ in range(COUNT):
            msg = "h" * size
            write(line("log", level="info", message=msg), {"oversized": 1})
    elif MODE == "invalid_utf8":
        for i in range(COUNT):
            bad = line("log", level="info", message="@@").replace(b"@@", b"\xff\xfe\xc3\x28")
            write(bad, {"invalid": 1})
            write(b"\xc3" * (i + 1) + b"\n", {"invalid": 1})
    elif MODE == "nul":
        for _ in range(COUNT):
            write(b'{"type":\x00"log"}\n', {"invalid": 1})
            write(b"\x00" * 100 + b"\n", {"invalid": 1})
            write(line("log", level="info", message="nul \x00 inside"), {"log_nul": 1})
    elif MODE == "deep":
        depth = int(CONFIG.get("depth", 1000))
        for _ in range(COUNT):
            kinds = ("deep_summary", "deep_log", "deep_heartbeat")
            for kind, data in zip(kinds, deep_lines(depth), strict=True):
                write(data, {kind: 1})
    elif MODE == "burst":
        for n in range(COUNT):
            emit("summary", **summary_fields(n))


def spawn_descendants() -> None:
    pids: list[int] = []
    sleeper = [sys.executable, "-c", "import time\nwhile True: time.sleep(60)"]
    for _ in range(COUNT):
        for new_session in (True, False):
            child = subprocess.Popen(
                sleeper,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=new_session,
            )
            pids.append(child.pid)
    path = os.path.join(INSTANCE_DIR, "descendants.pids")
    with open(path, "a") as fh:
        fh.write("".join(f"{pid}\n" for pid in pids))


def serve_commands(flooder: threading.Thread | None) -> None:
    """Execute commands until EOF or shutdown; a flood ends before the first answer."""
    flushes = 0
    for raw in sys.stdin.buffer:
        try:
            cmd = json.loads(raw)
        except ValueError:
            continue
        steps = cmd.get("sequence", []) if cmd.get("cmd") == "sequence" else [cmd.get("cmd")]
        for step in steps:
            if step in ("stop", "shutdown") and not STOPPING.is_set():
                time.sleep(float(CONFIG.get("linger_s", 0.0)))
                STOPPING.set()
                if flooder is not None:
                    flooder.join()
            if step == "flush":
                flushes += 1
                emit("summary", **summary_fields(-flushes))
                emit("ack", ack_command="flush")
            elif step == "stop":
                emit("ack", ack_command="stop")
            elif step == "shutdown":
                emit("ack", ack_command="shutdown")
                finish()
            elif step == "reject":
                finish()
    finish()


def finish() -> None:
    STOPPING.set()
    with LOCK:
        save(final=True)
    sys.stdout.flush()
    os._exit(0)


def on_sigterm(_signum: int, _frame: object) -> None:
    save(final=False)
    os._exit(143)


def ignore_forever() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=heartbeats, daemon=True).start()
    while True:  # never reads stdin, so neither EOF nor commands reach it
        time.sleep(3600)


def main() -> None:
    handshake = line("handshake", min_app_version="0.1.0", capabilities=["summary"])
    if MODE == "handshake_summary":
        write(handshake + line("summary", **summary_fields(0)), {"handshake": 1, "summary": 1})
    else:
        write(handshake, {"handshake": 1})
    if MODE == "crash":
        save(final=True)
        os._exit(3)
    if MODE == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if MODE == "ignore_term":
        ignore_forever()
    if MODE == "endless":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        chunk = b"e" * 65536
        while True:
            write(chunk, {})
    signal.signal(signal.SIGTERM, on_sigterm)
    if MODE == "spawn":
        spawn_descendants()
    misbehave()
    flooder: threading.Thread | None = None
    if MODE == "flood":
        flooder = threading.Thread(target=flood, daemon=True)
        flooder.start()
    threading.Thread(
        target=big_heartbeats if MODE == "big_heartbeat" else heartbeats, daemon=True
    ).start()
    serve_commands(flooder)


if __name__ == "__main__":
    main()
