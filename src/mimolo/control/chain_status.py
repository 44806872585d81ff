"""The Evidence view's chain status per day: ``verify()`` for the days shown, cached.

Verification reads the day files, every checkpoint file and the host key; the cache key is
those files' (name, size, mtime), so an unchanged ledger is never walked twice and any
write (a new record, a checkpoint, a tampered line) is seen on the next page load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import checkpoint_files, day_files, load_public_key, verify
from mimolo.operations.host_key import host_public_key_path

CACHE_ENTRIES = 64


@dataclass(frozen=True)
class DayChain:
    """What the page shows for one day."""

    day: str
    status: str  # verified | open | broken | unchained | none (no ledger file)
    broken_line: int | None = None
    kinds: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    records: int = 0


_cache: OrderedDict[tuple[object, ...], DayChain] = OrderedDict()
_lock = threading.Lock()


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        info = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), info.st_size, info.st_mtime_ns)


def _key(root: DataRoot, day: date) -> tuple[object, ...]:
    files = day_files(root.evidence_dir)
    newest = files[-1][0] if files else None
    checkpoints = tuple(_stamp(p) for _, p in checkpoint_files(root.evidence_dir))
    return (
        str(root.root), day, newest, _stamp(root.evidence_file(day)), checkpoints,
        _stamp(host_public_key_path(root)),
    )  # fmt: skip


def day_chain(root: DataRoot, day: date) -> DayChain:
    """The chain status of ``day`` (blocking: call it from a worker thread)."""
    key = _key(root, day)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    result = _compute(root, day)
    with _lock:
        _cache[key] = result
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return result


def _compute(root: DataRoot, day: date) -> DayChain:
    if not root.evidence_file(day).exists():
        return DayChain(day.isoformat(), "none")
    try:
        public_raw: bytes | None = load_public_key(host_public_key_path(root))
    except (OSError, ValueError):
        public_raw = None
    report = verify(root.evidence_dir, public_raw, day_from=day, day_to=day)
    status = next((d for d in report.days if d.day == day.isoformat()), None)
    kinds = tuple(sorted({p.kind for p in report.problems}))
    problems = tuple(
        f"{p.kind} at {p.file}:{p.line}: {p.message}" if p.line else f"{p.kind}: {p.message}"
        for p in report.problems[:5]
    )
    if status is None:
        return DayChain(day.isoformat(), "none", kinds=kinds, problems=problems)
    state = "broken" if report.problems and status.status != "broken" else status.status
    return DayChain(day.isoformat(), state, status.broken_line, kinds, problems, status.records)


__all__ = ["DayChain", "day_chain"]
