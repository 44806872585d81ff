"""Two-step purge: a plan that says exactly what would go, then its confirmed execution.

A plan (``PurgePlans.add``) fixes the files of a time range with their sizes and mtimes,
lists the archive options, and expires (default 15 minutes, on an injected clock). Only
``execute_plan`` deletes, and only with an archive decision: ``create_archive`` (the plan's
files are archived and verified first), ``use_existing_archive`` (that archive is read
back in full and must hold every file by sha256, else ``archive_not_covering`` and
nothing is deleted) or ``decline_archive``. A file that changed since the plan is kept and
reported. Every deleted file gets a tombstone. A plan is used once.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

import msgspec

from mimolo.errors import ArchiveError, ArtifactError, PurgeRefused, UnsafeArchiveError
from mimolo.operations.artifacts.archive import ARCHIVE_LIMITS, write_archive
from mimolo.operations.artifacts.files import hash_file, same_file, unlink_if_unchanged
from mimolo.operations.artifacts.inventory import ArtifactFile, iso_ns
from mimolo.operations.artifacts.manifest import (
    MANIFEST_NAME,
    ArchiveManifest,
    ManifestEntry,
    TimeRange,
    read_manifest,
)
from mimolo.operations.artifacts.tombstones import Tombstone, append_tombstones
from mimolo.safe_zip import check_members, open_zip, verify_members

DEFAULT_PLAN_TTL_S: Final = 15 * 60.0
MAX_LIVE_PLANS: Final = 64
SAMPLE_SIZE: Final = 20
TOMBSTONE_BATCH: Final = 1000
Action = Literal["create_archive", "use_existing_archive", "decline_archive"]


class PurgePlan(msgspec.Struct, frozen=True, kw_only=True):
    plan_id: str
    plugin_id: str
    instance_id: str
    created_at: datetime
    expires_at: datetime
    start: str | None
    end: str | None
    files: tuple[ArtifactFile, ...]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


class ArchiveDecision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: Action
    archive_id: str | None = None


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    rel_path: str
    reason: str


class PurgeResult(msgspec.Struct, frozen=True, kw_only=True):
    deleted_files: int
    deleted_bytes: int
    skipped: list[Skipped]
    tombstones: int
    archive_id: str | None


def utc_now() -> datetime:
    return datetime.now(UTC)


class PurgePlans:
    """The live plans (bounded; the oldest goes first), on an injected clock.

    Plans are made in worker threads and taken on the event loop: one lock guards them.
    """

    def __init__(
        self,
        clock: Callable[[], datetime] = utc_now,
        *,
        ttl_s: float = DEFAULT_PLAN_TTL_S,
        max_plans: int = MAX_LIVE_PLANS,
    ) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._max = max_plans
        self._plans: OrderedDict[str, PurgePlan] = OrderedDict()
        self._lock = threading.Lock()

    def add(
        self,
        files: list[ArtifactFile],
        *,
        plugin_id: str,
        instance_id: str,
        start: str | None,
        end: str | None,
    ) -> PurgePlan:
        now = self.clock()
        plan = PurgePlan(
            plan_id=secrets.token_urlsafe(18),
            plugin_id=plugin_id,
            instance_id=instance_id,
            created_at=now,
            expires_at=now + timedelta(seconds=self.ttl_s),
            start=start,
            end=end,
            files=tuple(files),
        )
        with self._lock:
            self._plans[plan.plan_id] = plan
            while len(self._plans) > self._max:
                self._plans.popitem(last=False)
        return plan

    def take(self, plan_id: str) -> PurgePlan:
        """The live plan, removed (a plan is used once); refusals name why."""
        with self._lock:
            plan = self._plans.pop(plan_id, None) if isinstance(plan_id, str) else None
        if plan is None:
            raise PurgeRefused(
                "no live purge plan with that id (make one with plan_instance_purge)",
                code="purge_plan_unknown",
            )
        if self.clock() >= plan.expires_at:
            raise PurgeRefused(
                f"the purge plan expired at {plan.expires_at.isoformat()}; make a new one",
                code="purge_plan_expired",
            )
        return plan

    def put_back(self, plan: PurgePlan) -> None:
        """Return a plan whose execution was refused before anything was deleted."""
        with self._lock:
            self._plans[plan.plan_id] = plan


def covers(plan: PurgePlan, manifest: ArchiveManifest) -> bool:
    """Whether an archive holds every planned file as planned (size and mtime); the
    execution checks it again by sha256."""
    held = {(e.rel_path, e.bytes, e.mtime_ns) for e in manifest.entries}
    return all((f.rel_path, f.bytes, f.mtime_ns) in held for f in plan.files)


def _verified_entries(archive: Path, plan: PurgePlan) -> dict[str, ManifestEntry]:
    """The archive's entries, after reading it back in full against its manifest."""
    try:
        with open_zip(archive) as zf:
            manifest = read_manifest(zf)
            if (manifest.plugin_id, manifest.instance_id) != (plan.plugin_id, plan.instance_id):
                raise ArchiveError(
                    "the archive belongs to another instance", code="archive_wrong_instance"
                )
            expected = manifest.expected()
            limits = msgspec.structs.replace(
                ARCHIVE_LIMITS, allowed=frozenset({*expected, MANIFEST_NAME})
            )
            members = [m for m in check_members(zf, limits) if m.filename != MANIFEST_NAME]
            verify_members(zf, members, expected, limits)
    except UnsafeArchiveError as exc:
        raise PurgeRefused(
            f"the chosen archive does not verify ({exc.message}); nothing was deleted",
            code="archive_not_covering",
        ) from None
    return {e.rel_path: e for e in manifest.entries}


def _hash_planned(
    artifacts: Path, plan: PurgePlan, skipped: list[Skipped]
) -> dict[str, tuple[ArtifactFile, str]]:
    """sha256 of every planned file still as planned; the others go to ``skipped``."""
    out: dict[str, tuple[ArtifactFile, str]] = {}
    for f in plan.files:
        try:
            sha, size, info = hash_file(artifacts, f.rel_path)
        except ArtifactError as exc:
            skipped.append(Skipped(rel_path=f.rel_path, reason=_reason(exc.code)))
            continue
        if not same_file(info, f.bytes, f.mtime_ns) or size != f.bytes:
            skipped.append(Skipped(rel_path=f.rel_path, reason="changed_since_plan"))
            continue
        out[f.rel_path] = (f, sha)
    return out


def _reason(code: str) -> str:
    return "missing" if code == "artifact_missing" else "not_a_plain_file"


def _from_new_archive(
    instance_dir: Path, plan: PurgePlan, now: datetime, skipped: list[Skipped]
) -> tuple[dict[str, tuple[ArtifactFile, str]], str]:
    result = write_archive(
        instance_dir,
        plan.files,
        plugin_id=plan.plugin_id,
        instance_id=plan.instance_id,
        time_range=TimeRange(start=plan.start, end=plan.end),
        now=now,
    )
    archived = {e.rel_path: e for e in result.manifest.entries}
    skipped.extend(Skipped(rel_path=rel, reason=_reason(code)) for rel, code in result.skipped)
    out: dict[str, tuple[ArtifactFile, str]] = {}
    for f in plan.files:
        entry = archived.get(f.rel_path)
        if entry is None:
            continue
        if (entry.bytes, entry.mtime_ns) != (f.bytes, f.mtime_ns):
            skipped.append(Skipped(rel_path=f.rel_path, reason="changed_since_plan"))
            continue
        out[f.rel_path] = (f, entry.sha256)
    return out, result.item.archive_id


def execute_plan(
    instance_dir: Path,
    plan: PurgePlan,
    decision: ArchiveDecision,
    *,
    now: datetime,
    existing_archive: Path | None = None,
) -> PurgeResult:
    """Delete the plan's files under ``decision`` (see the module doc); tombstones written."""
    artifacts = instance_dir / "artifacts"
    skipped: list[Skipped] = []
    archive_id: str | None = None
    if decision.action == "create_archive":
        doomed, archive_id = _from_new_archive(instance_dir, plan, now, skipped)
    else:
        doomed = _hash_planned(artifacts, plan, skipped)
        if decision.action == "use_existing_archive":
            assert existing_archive is not None and decision.archive_id is not None
            held = _verified_entries(existing_archive, plan)
            uncovered = [
                rel
                for rel, (_, sha) in doomed.items()
                if rel not in held or held[rel].sha256 != sha
            ]
            if uncovered:
                raise PurgeRefused(
                    f"archive {decision.archive_id} does not hold {len(uncovered)} of the "
                    f"plan's files as they are now (first: {uncovered[0]}); nothing was deleted",
                    code="archive_not_covering",
                )
            archive_id = decision.archive_id
    deleted_at = iso_ns(int(now.timestamp() * 1e9))
    stones: list[Tombstone] = []
    written = 0
    for rel, (f, sha) in doomed.items():
        why = unlink_if_unchanged(artifacts, rel, f.bytes, f.mtime_ns)
        if why is not None:
            skipped.append(Skipped(rel_path=rel, reason=why))
            continue
        if len(stones) - written >= TOMBSTONE_BATCH:  # a crash loses at most one batch's
            append_tombstones(instance_dir, stones[written:])
            written = len(stones)
        stones.append(
            Tombstone(
                rel_path=rel,
                sha256=sha,
                bytes=f.bytes,
                mtime=iso_ns(f.mtime_ns),
                deleted_at=deleted_at,
                plan_id=plan.plan_id,
                decision=decision.action,
                archive_id=archive_id,
                archive_file=None if archive_id is None else f"archives/{archive_id}.zip",
            )
        )
    append_tombstones(instance_dir, stones[written:])
    return PurgeResult(
        deleted_files=len(stones),
        deleted_bytes=sum(s.bytes for s in stones),
        skipped=skipped,
        tombstones=len(stones),
        archive_id=archive_id,
    )


def plan_sample(plan: PurgePlan) -> list[str]:
    return [f.rel_path for f in plan.files[:SAMPLE_SIZE]]


__all__ = [
    "DEFAULT_PLAN_TTL_S",
    "ArchiveDecision",
    "PurgePlan",
    "PurgePlans",
    "PurgeResult",
    "Skipped",
    "covers",
    "execute_plan",
    "plan_sample",
    "utc_now",
]
