"""The artifact operations of every instance under one data root, for the control API.

Blocking work (walking, hashing, zipping) is plain synchronous code here; the IPC
handlers run it in a worker thread under the instance's lock, so a long archive never
blocks the event loop and two operations on one instance never interleave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import InvalidField
from mimolo.operations.artifacts.archive import ArchiveResult, Progress, write_archive
from mimolo.operations.artifacts.inventory import (
    ArtifactFile,
    Inventory,
    WarnLimits,
    files_of,
    summarize,
    take_inventory,
)
from mimolo.operations.artifacts.listing import archive_path, list_archives
from mimolo.operations.artifacts.manifest import ArchiveItem, TimeRange, read_manifest
from mimolo.operations.artifacts.purge import (
    DEFAULT_PLAN_TTL_S,
    ArchiveDecision,
    PurgePlan,
    PurgePlans,
    PurgeResult,
    covers,
    execute_plan,
    utc_now,
)
from mimolo.operations.artifacts.restore import OnConflict, RestoreResult, restore_archive
from mimolo.safe_zip import open_zip


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """A half-open time range ``[start, end)`` on file mtimes; None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, mtime_ns: int) -> bool:
        if self.start is not None and mtime_ns < self.start.timestamp() * 1e9:
            return False
        return self.end is None or mtime_ns < self.end.timestamp() * 1e9

    def as_range(self) -> TimeRange:
        return TimeRange(start=_iso(self.start), end=_iso(self.end))


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def parse_window(start: str | None, end: str | None) -> Window:
    """ISO-8601 times (a time without an offset is UTC); ``invalid_field`` otherwise."""
    parsed: dict[str, datetime | None] = {}
    for name, text in (("start", start), ("end", end)):
        if text is None:
            parsed[name] = None
            continue
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidField(name, f"not an ISO-8601 time: {text!r}") from None
        parsed[name] = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    window = Window(start=parsed["start"], end=parsed["end"])
    if window.start is not None and window.end is not None and window.end <= window.start:
        raise InvalidField("end", "must be after start")
    return window


class ArtifactService:
    """Inventory, archives, restore and purge plans, on an injected clock."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        clock: Callable[[], datetime] = utc_now,
        plan_ttl_s: float = DEFAULT_PLAN_TTL_S,
    ) -> None:
        self.data_root = data_root
        self.clock = clock
        self.plans = PurgePlans(clock, ttl_s=plan_ttl_s)
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, instance_id: str) -> asyncio.Lock:
        """The one lock per instance that archive, restore, plan and purge take."""
        return self._locks.setdefault(instance_id, asyncio.Lock())

    def instance_dir(self, plugin_id: str, instance_id: str) -> Path:
        return self.data_root.instance_dir(plugin_id, instance_id)

    def _now_ns(self) -> int:
        return int(self.clock().timestamp() * 1e9)

    def inventory(self, plugin_id: str, instance_id: str, limits: WarnLimits) -> Inventory:
        now_ns = self._now_ns()
        index, changed = take_inventory(self.instance_dir(plugin_id, instance_id), now_ns=now_ns)
        return summarize(
            index,
            plugin_id=plugin_id,
            instance_id=instance_id,
            limits=limits,
            now_ns=now_ns,
            changed_dirs=changed,
        )

    def select(self, plugin_id: str, instance_id: str, window: Window) -> list[ArtifactFile]:
        """The artifacts whose mtime is in ``window``, from a fresh inventory."""
        index, _ = take_inventory(self.instance_dir(plugin_id, instance_id), now_ns=self._now_ns())
        return [f for f in files_of(index) if window.contains(f.mtime_ns)]

    def archive(
        self, plugin_id: str, instance_id: str, window: Window, progress: Progress | None = None
    ) -> ArchiveResult:
        return write_archive(
            self.instance_dir(plugin_id, instance_id),
            self.select(plugin_id, instance_id, window),
            plugin_id=plugin_id,
            instance_id=instance_id,
            time_range=window.as_range(),
            now=self.clock(),
            progress=progress,
        )

    def archives(self, plugin_id: str, instance_id: str) -> list[ArchiveItem]:
        return list_archives(self.instance_dir(plugin_id, instance_id))

    def restore(
        self, plugin_id: str, instance_id: str, archive_id: str, on_conflict: OnConflict
    ) -> RestoreResult:
        folder = self.instance_dir(plugin_id, instance_id)
        return restore_archive(
            folder,
            archive_path(folder, archive_id),
            plugin_id=plugin_id,
            instance_id=instance_id,
            on_conflict=on_conflict,
        )

    def plan(
        self, plugin_id: str, instance_id: str, window: Window
    ) -> tuple[PurgePlan, list[dict[str, Any]]]:
        """A new live plan and its archive options (``covers`` by size and mtime)."""
        files = self.select(plugin_id, instance_id, window)
        plan = self.plans.add(
            files,
            plugin_id=plugin_id,
            instance_id=instance_id,
            start=_iso(window.start),
            end=_iso(window.end),
        )
        options: list[dict[str, Any]] = [{"action": "create_archive"}]
        folder = self.instance_dir(plugin_id, instance_id)
        for item in reversed(self.archives(plugin_id, instance_id)):
            with open_zip(archive_path(folder, item.archive_id)) as zf:
                manifest = read_manifest(zf)
            options.append(
                {
                    "action": "use_existing_archive",
                    "archive_id": item.archive_id,
                    "covers": covers(plan, manifest),
                }
            )
        options.append({"action": "decline_archive"})
        return plan, options

    def execute(self, plan: PurgePlan, decision: ArchiveDecision) -> PurgeResult:
        folder = self.instance_dir(plan.plugin_id, plan.instance_id)
        existing = None
        if decision.action == "use_existing_archive":
            assert decision.archive_id is not None
            existing = archive_path(folder, decision.archive_id)
        return execute_plan(folder, plan, decision, now=self.clock(), existing_archive=existing)


__all__ = ["ArtifactService", "Window", "parse_window"]
