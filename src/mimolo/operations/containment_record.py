"""The pid record: ``{instance_id: [{pid, create_time, ...}]}`` in ``operations/containment.json``.

It lets the next Operations (or the guardian) end what a killed one left, and never a
recycled pid: an entry matches a live process only if its start time does. On Linux the
entry also holds the boot id and the start in clock ticks since boot, which no clock step
can change; elsewhere ``create_time`` is compared within a second (boot time jitters).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import psutil

from mimolo.dataroot import write_atomic

log = logging.getLogger(__name__)

_CREATE_TIME_TOLERANCE_S: Final = 1.0


@cache
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat``: start time in clock ticks after boot."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class PidEntry:
    """One process as recorded: enough to recognise it, and only it, later."""

    pid: int
    create_time: float
    boot_id: str | None = None
    start_ticks: int | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"pid": self.pid, "create_time": self.create_time}
        if self.boot_id is not None and self.start_ticks is not None:
            out["boot_id"] = self.boot_id
            out["start_ticks"] = self.start_ticks
        return out

    @classmethod
    def from_json(cls, obj: object) -> PidEntry | None:
        if not isinstance(obj, dict):
            return None
        pid, created = obj.get("pid"), obj.get("create_time")
        boot, ticks = obj.get("boot_id"), obj.get("start_ticks")
        if type(pid) is not int or pid <= 1 or not isinstance(created, int | float):
            return None
        if not (isinstance(boot, str) and type(ticks) is int):
            boot, ticks = None, None
        return cls(pid, float(created), boot, ticks)

    def same_process(self, other: PidEntry) -> bool:
        if self.pid != other.pid:
            return False
        if self.start_ticks is not None and other.start_ticks is not None:
            return self.boot_id == other.boot_id and self.start_ticks == other.start_ticks
        return abs(self.create_time - other.create_time) <= _CREATE_TIME_TOLERANCE_S

    def live(self) -> psutil.Process | None:
        """The live process this entry names, or None (gone, or the pid was reused)."""
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return None
        now = _identity_of(proc)
        return proc if now is not None and self.same_process(now) else None


def _identity_of(proc: psutil.Process) -> PidEntry | None:
    try:
        created = proc.create_time()
    except psutil.Error:
        return None
    return PidEntry(proc.pid, created, _boot_id(), start_ticks(proc.pid))


def identity(pid: int) -> PidEntry | None:
    """How to recognise ``pid`` later, or None if it is already gone."""
    try:
        return _identity_of(psutil.Process(pid))
    except psutil.Error:
        return None


class PidRecord:
    """The record file, held in memory and written through atomically (0600)."""

    def __init__(self, path: Path, data: dict[str, list[PidEntry]]) -> None:
        self.path = path
        self._data = data

    @classmethod
    def load(cls, path: Path) -> PidRecord:
        """Read the record; a missing or unreadable one is empty (the environ scan remains)."""
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(path, {})
        except (OSError, ValueError) as exc:
            log.warning("containment: ignoring unreadable pid record %s: %s", path, exc)
            return cls(path, {})
        data: dict[str, list[PidEntry]] = {}
        if isinstance(raw, dict):
            for instance_id, items in raw.items():
                if isinstance(instance_id, str) and isinstance(items, list):
                    entries = [e for item in items if (e := PidEntry.from_json(item))]
                    if entries:
                        data[instance_id] = entries
        return cls(path, data)

    def entries(self, instance_id: str) -> list[PidEntry]:
        return list(self._data.get(instance_id, ()))

    def all_entries(self) -> list[PidEntry]:
        return [entry for entries in self._data.values() for entry in entries]

    def add(self, instance_id: str, entries: list[PidEntry]) -> int:
        """Append the entries not yet recorded; how many were new."""
        known = self._data.setdefault(instance_id, [])
        new = [e for e in entries if not any(k.same_process(e) for k in known)]
        if new:
            known.extend(new)
            self._save()
        elif not known:
            del self._data[instance_id]
        return len(new)

    def drop(self, instance_id: str) -> None:
        if self._data.pop(instance_id, None) is not None:
            self._save()

    def clear(self) -> None:
        self._data.clear()
        self._save()

    def _save(self) -> None:
        if not self._data:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        doc = {iid: [e.to_json() for e in entries] for iid, entries in self._data.items()}
        write_atomic(self.path, json.dumps(doc, sort_keys=True).encode())


__all__ = ["PidEntry", "PidRecord", "identity", "start_ticks"]
