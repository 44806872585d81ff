"""The Operations log: the diagnostics tail from Operations, or from the files when it is down.

Records are ``{ts, kind, instance_id?, level?, message?, …}``. Filtering (instance, minimum
level, heartbeats hidden) is a pure function over those dicts, the same for both sources.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import date, timedelta
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot

log = logging.getLogger(__name__)

LEVELS = ("debug", "info", "warning", "error")
NOISY_KINDS = frozenset({"heartbeat"})
DEFAULT_LIMIT = 300
_decoder = msgspec.json.Decoder()


def record_level(record: dict[str, Any]) -> str:
    """The record's level; kinds without one are ``error`` for errors, else ``info``."""
    level = record.get("level")
    if isinstance(level, str) and level in LEVELS:
        return level
    if record.get("kind") in ("error", "rejected_line"):
        return "error"
    return "info"


def filter_records(
    records: list[dict[str, Any]],
    *,
    instance_id: str | None = None,
    min_level: str = "debug",
    heartbeats: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Matching records, newest first, at most ``limit``."""
    threshold = LEVELS.index(min_level) if min_level in LEVELS else 0
    out: list[dict[str, Any]] = []
    for record in reversed(records):
        if instance_id and record.get("instance_id") != instance_id:
            continue
        if not heartbeats and record.get("kind") in NOISY_KINDS:
            continue
        if LEVELS.index(record_level(record)) < threshold:
            continue
        out.append(record)
        if len(out) >= limit:
            break
    return out


def read_diagnostics_files(
    root: DataRoot, today: date, *, keep: int = 2000
) -> list[dict[str, Any]]:
    """The newest ``keep`` records of yesterday's and today's files, oldest first."""
    tail: deque[dict[str, Any]] = deque(maxlen=keep)
    for day in (today - timedelta(days=1), today):
        try:
            content = root.diagnostics_file(day).read_bytes()
        except OSError:
            continue
        for raw in content.splitlines():
            if not raw.strip():
                continue
            try:
                record = _decoder.decode(raw)
            except msgspec.DecodeError:
                record = {"kind": "torn_line", "level": "warning",
                          "message": raw[:200].decode("utf-8", "replace")}  # fmt: skip
            if isinstance(record, dict):
                tail.append(record)
    return list(tail)


def tail_records(data: Any) -> list[dict[str, Any]]:
    """``get_diagnostics_tail``'s answer as a list of record dicts, oldest first."""
    if isinstance(data, dict):
        for name in ("records", "entries", "tail", "lines"):
            value = data.get(name)
            if isinstance(value, list):
                return [r for r in value if isinstance(r, dict)]
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    return []


def describe(record: dict[str, Any]) -> str:
    """One readable line for a record's payload (everything but the columns shown)."""
    message = record.get("message")
    if isinstance(message, str) and message:
        return message
    rest = {k: v for k, v in record.items() if k not in ("ts", "kind", "instance_id", "level")}
    return msgspec.json.encode(rest).decode("utf-8", "replace")[:500] if rest else ""


__all__ = [
    "DEFAULT_LIMIT",
    "LEVELS",
    "describe",
    "filter_records",
    "read_diagnostics_files",
    "record_level",
    "tail_records",
]
