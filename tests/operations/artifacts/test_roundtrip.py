"""Archive → purge → restore on real files: identical bytes and hashes, and every refusal."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.artifacts.listing import file_sha256, list_archives
from mimolo.operations.artifacts.manifest import ArchiveManifest, read_manifest
from mimolo.operations.artifacts.purge import ArchiveDecision
from mimolo.operations.artifacts.service import ArtifactService, Window, parse_window
from mimolo.operations.artifacts.tombstones import find_tombstone, purged_message, tombstones_path
from mimolo.safe_zip import open_zip

from ._tree import DAY2, DAY3, INSTANCE, PLUGIN, instance_dir, put, sample_tree, snapshot

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


class Clock:
    """The injected wall clock: plans expire when the test says so."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _service(tmp_path: Path, clock: Clock | None = None) -> tuple[ArtifactService, Path]:
    root = DataRoot(tmp_path / "root")
    return ArtifactService(root, clock=clock or Clock()), instance_dir(root)


def _code(exc: pytest.ExceptionInfo[MimoloError]) -> str:
    return exc.value.code


def test_archive_purge_restore_gives_identical_bytes(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    before = snapshot(instance)
    progress: list[tuple[int, int]] = []
    result = svc.archive(PLUGIN, INSTANCE, Window(), progress=lambda d, t: progress.append((d, t)))
    item = result.item
    assert item.archive_id == f"20261125_{PLUGIN}_{INSTANCE}" and result.verified
    assert item.entries == 5 and item.bytes == sum(
        os.path.getsize(instance / "artifacts" / r) for r in before
    )
    archive = instance / item.file
    assert item.sha256 == file_sha256(archive) and item.file_bytes == archive.stat().st_size
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert progress and progress[-1][0] == item.bytes
    with open_zip(archive) as zf:
        manifest = read_manifest(zf)
    assert (manifest.plugin_id, manifest.instance_id) == (PLUGIN, INSTANCE)
    assert {e.rel_path: e.sha256 for e in manifest.entries} == before
    assert manifest.restore.member_prefix == "artifacts/"

    plan, options = svc.plan(PLUGIN, INSTANCE, Window())
    assert len(plan.files) == 5
    assert {
        "action": "use_existing_archive",
        "archive_id": item.archive_id,
        "covers": True,
    } in options
    decision = ArchiveDecision(action="use_existing_archive", archive_id=item.archive_id)
    purged = svc.execute(svc.plans.take(plan.plan_id), decision)
    assert (purged.deleted_files, purged.tombstones, purged.skipped) == (5, 5, [])
    assert snapshot(instance) == {}
    stone = find_tombstone(instance, "2026/11/01/a.png")
    assert stone is not None and stone.sha256 == before["2026/11/01/a.png"]
    assert purged_message(stone) == f"purged (archived in {item.archive_id})"
    assert stat.S_IMODE(tombstones_path(instance).stat().st_mode) == 0o600

    restored = svc.restore(PLUGIN, INSTANCE, item.archive_id, "report")
    assert (restored.restored, restored.identical, restored.written) == (5, 0, True)
    assert snapshot(instance) == before
    for entry in manifest.entries:  # mtimes come back too, so ranges still select them
        assert (instance / "artifacts" / entry.rel_path).stat().st_mtime_ns == entry.mtime_ns
    again = svc.restore(PLUGIN, INSTANCE, item.archive_id, "report")
    assert (again.restored, again.identical, again.written) == (0, 5, False)
    assert not any(p.name.startswith(".restore-") for p in (instance / "archives").iterdir())


def test_a_range_selects_by_mtime_and_names_get_suffixes(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    window = parse_window("2026-11-02T00:00:00Z", "2026-11-03T00:00:00")
    first = svc.archive(PLUGIN, INSTANCE, window)
    assert [e.rel_path for e in first.manifest.entries] == ["2026/11/02/c.png"]
    assert (first.item.start, first.item.end) == ("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z")
    second = svc.archive(PLUGIN, INSTANCE, window)
    third = svc.archive(PLUGIN, INSTANCE, Window())
    assert second.item.archive_id == first.item.archive_id + "-2"
    assert third.item.archive_id == first.item.archive_id + "-3"
    assert [a.archive_id for a in list_archives(instance)] == [
        first.item.archive_id,
        second.item.archive_id,
        third.item.archive_id,
    ]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("yesterday", None, "start"),
        (None, "2026-13-01", "end"),
        ("2026-11-02", "2026-11-01", "end"),
    ],
)
def test_bad_ranges_are_invalid_field(start: str | None, end: str | None, field: str) -> None:
    with pytest.raises(MimoloError) as caught:
        parse_window(start, end)
    assert (caught.value.code, caught.value.field) == ("invalid_field", field)


def test_restore_conflicts_report_keep_or_overwrite(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    files = sample_tree(instance)
    archive_id = svc.archive(PLUGIN, INSTANCE, Window()).item.archive_id
    (instance / "artifacts/2026/11/01/a.png").write_bytes(b"edited since")
    (instance / "artifacts/2026/11/02/c.png").unlink()
    report = svc.restore(PLUGIN, INSTANCE, archive_id, "report")
    assert report.written is False and report.restored == 0
    assert [(c.rel_path, c.reason) for c in report.conflicts] == [
        ("2026/11/01/a.png", "different_content")
    ]
    assert not (instance / "artifacts/2026/11/02/c.png").exists()  # nothing written at all
    keep = svc.restore(PLUGIN, INSTANCE, archive_id, "keep_existing")
    assert (keep.restored, keep.identical, keep.written) == (1, 3, True)
    assert (instance / "artifacts/2026/11/01/a.png").read_bytes() == b"edited since"
    over = svc.restore(PLUGIN, INSTANCE, archive_id, "overwrite")
    assert (over.restored, over.overwritten, over.conflicts) == (1, 1, [])
    assert (instance / "artifacts/2026/11/01/a.png").read_bytes() == files["2026/11/01/a.png"]


def test_restore_never_follows_a_planted_link(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    archive_id = svc.archive(PLUGIN, INSTANCE, Window()).item.archive_id
    outside = tmp_path / "outside"
    outside.mkdir()
    (instance / "artifacts/2026/11/03/d.png").unlink()
    (instance / "artifacts/2026/11/03").rmdir()
    (instance / "artifacts/2026/11/03").symlink_to(outside)
    report = svc.restore(PLUGIN, INSTANCE, archive_id, "report")
    assert [(c.rel_path, c.reason) for c in report.conflicts] == [
        ("2026/11/03/d.png", "not_a_plain_file")
    ]
    result = svc.restore(PLUGIN, INSTANCE, archive_id, "overwrite")
    assert [(c.rel_path, c.reason) for c in result.conflicts] == [
        ("2026/11/03/d.png", "not_a_plain_file")
    ]
    assert list(outside.iterdir()) == []


def test_expired_and_used_plans_are_refused(tmp_path: Path) -> None:
    clock = Clock()
    svc, instance = _service(tmp_path, clock)
    sample_tree(instance)
    plan, _ = svc.plan(PLUGIN, INSTANCE, Window())
    assert plan.expires_at == NOW + timedelta(minutes=15)
    clock.now = NOW + timedelta(minutes=15)
    with pytest.raises(MimoloError) as caught:
        svc.plans.take(plan.plan_id)
    assert _code(caught) == "purge_plan_expired"
    with pytest.raises(MimoloError) as caught:
        svc.plans.take(plan.plan_id)
    assert _code(caught) == "purge_plan_unknown"  # an expired plan is gone
    live, _ = svc.plan(PLUGIN, INSTANCE, Window())
    svc.execute(svc.plans.take(live.plan_id), ArchiveDecision(action="decline_archive"))
    with pytest.raises(MimoloError) as caught:
        svc.plans.take(live.plan_id)
    assert _code(caught) == "purge_plan_unknown"  # a used plan is unknown
    with pytest.raises(MimoloError) as caught:
        svc.plans.take("not-a-plan")
    assert _code(caught) == "purge_plan_unknown"


def test_create_archive_then_purge_and_a_changed_file_is_kept(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    plan, _ = svc.plan(PLUGIN, INSTANCE, parse_window(None, "2026-11-03T00:00:00Z"))
    assert sorted(f.rel_path for f in plan.files) == [
        "2026/11/01/a.png",
        "2026/11/01/b.png",
        "2026/11/02/c.png",
    ]
    put(instance, "2026/11/02/c.png", b"rewritten after the plan", DAY2 + timedelta(seconds=1))
    result = svc.execute(svc.plans.take(plan.plan_id), ArchiveDecision(action="create_archive"))
    assert result.archive_id is not None
    assert result.deleted_files == 2
    assert [(s.rel_path, s.reason) for s in result.skipped] == [
        ("2026/11/02/c.png", "changed_since_plan")
    ]
    assert (instance / "artifacts/2026/11/02/c.png").read_bytes() == b"rewritten after the plan"
    assert not (instance / "artifacts/2026/11/01").exists()  # emptied folders are pruned
    assert (instance / "artifacts").is_dir()
    stones = [
        msgspec.json.decode(line) for line in tombstones_path(instance).read_bytes().splitlines()
    ]
    assert {s["decision"] for s in stones} == {"create_archive"}
    assert {s["archive_file"] for s in stones} == {f"archives/{result.archive_id}.zip"}
    assert all(s["plan_id"] == plan.plan_id and s["deleted_at"] for s in stones)


def test_an_archive_that_does_not_cover_deletes_nothing(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    partial = svc.archive(PLUGIN, INSTANCE, parse_window(None, "2026-11-02T00:00:00Z")).item
    plan, options = svc.plan(PLUGIN, INSTANCE, Window())
    assert {
        "action": "use_existing_archive",
        "archive_id": partial.archive_id,
        "covers": False,
    } in options
    before = snapshot(instance)
    with pytest.raises(MimoloError) as caught:
        svc.execute(
            svc.plans.take(plan.plan_id),
            ArchiveDecision(action="use_existing_archive", archive_id=partial.archive_id),
        )
    assert _code(caught) == "archive_not_covering"
    assert snapshot(instance) == before


def test_a_damaged_archive_does_not_cover(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    item = svc.archive(PLUGIN, INSTANCE, Window()).item
    archive = instance / item.file
    data = bytearray(archive.read_bytes())
    stored = (instance / "artifacts/2026/11/03/d.png").read_bytes()
    at = data.find(stored[:64])
    data[at + 10] ^= 0xFF
    archive.write_bytes(bytes(data))
    plan, _ = svc.plan(PLUGIN, INSTANCE, Window())
    before = snapshot(instance)
    with pytest.raises(MimoloError) as caught:
        svc.execute(
            svc.plans.take(plan.plan_id),
            ArchiveDecision(action="use_existing_archive", archive_id=item.archive_id),
        )
    assert _code(caught) == "archive_not_covering"
    assert snapshot(instance) == before


def test_declined_archive_still_writes_tombstones(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    files = sample_tree(instance)
    plan, _ = svc.plan(PLUGIN, INSTANCE, parse_window("2026-11-03T00:00:00Z", None))
    result = svc.execute(svc.plans.take(plan.plan_id), ArchiveDecision(action="decline_archive"))
    assert (result.deleted_files, result.archive_id) == (2, None)
    stone = find_tombstone(instance, "notes.txt")
    assert stone is not None and stone.sha256 == hashlib.sha256(files["notes.txt"]).hexdigest()
    assert purged_message(stone) == "purged (not archived)"
    assert stone.decision == "decline_archive" and stone.archive_file is None


def test_an_agent_writing_while_archived(tmp_path: Path) -> None:
    """Files the agent adds or replaces meanwhile never break the archive or get purged."""
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    for n in range(40):
        put(instance, f"2026/11/02/bulk{n:02}.png", os.urandom(200_000), DAY2)
    plan, _ = svc.plan(PLUGIN, INSTANCE, Window())
    written: list[str] = []

    def agent_writes(done: int, total: int) -> None:
        # called between files, exactly when a real agent's writes land mid-archive
        n = len(written)
        tmp = instance / "artifacts/2026/11/03" / f".new{n}.png.tmp"
        tmp.write_bytes(os.urandom(1000))
        os.replace(tmp, instance / "artifacts/2026/11/03" / f"new{n}.png")
        written.append(f"2026/11/03/new{n}.png")
        if n == 5:  # the agent replaces a file the plan holds (atomically, as agents do)
            put(instance, "2026/11/02/bulk39.png", b"replaced", DAY3)

    from mimolo.operations.artifacts.archive import write_archive

    result = write_archive(
        instance,
        plan.files,
        plugin_id=PLUGIN,
        instance_id=INSTANCE,
        time_range=Window().as_range(),
        now=NOW,
        progress=agent_writes,
    )
    assert result.verified and result.item.entries == len(plan.files)
    names = {e.rel_path for e in result.manifest.entries}
    assert not names & set(written)
    bulk39 = next(e for e in result.manifest.entries if e.rel_path == "2026/11/02/bulk39.png")
    assert bulk39.bytes == 8 or bulk39.bytes == 200_000  # whichever it read, it holds that
    purged = svc.execute(
        svc.plans.take(plan.plan_id),
        ArchiveDecision(action="use_existing_archive", archive_id=result.item.archive_id),
    )
    assert ("2026/11/02/bulk39.png", "changed_since_plan") in [
        (s.rel_path, s.reason) for s in purged.skipped
    ]
    assert all((instance / "artifacts" / rel).exists() for rel in written)
    assert (instance / "artifacts/2026/11/02/bulk39.png").read_bytes() == b"replaced"


def _rewrite_manifest(archive: Path, out: Path, edit: dict[str, object]) -> None:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "manifest.json":
                doc = msgspec.json.decode(body)
                doc.update(edit)
                body = msgspec.json.encode(doc)
            dst.writestr(info, body)


def test_a_manifest_of_another_instance_is_refused(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    item = svc.archive(PLUGIN, INSTANCE, Window()).item
    forged = instance / "archives" / "20261126_screen_tracker_shots.zip"
    _rewrite_manifest(instance / item.file, forged, {"instance_id": "other"})
    with pytest.raises(MimoloError) as caught:
        svc.restore(PLUGIN, INSTANCE, "20261126_screen_tracker_shots", "report")
    assert _code(caught) == "archive_wrong_instance"


def test_unknown_archive_ids(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    for archive_id in ("20261125_nope", "../../etc/passwd", "20261125_x/../y"):
        with pytest.raises(MimoloError) as caught:
            svc.restore(PLUGIN, INSTANCE, archive_id, "report")
        assert _code(caught) == "archive_unknown"


def test_manifest_model_round_trip(tmp_path: Path) -> None:
    svc, instance = _service(tmp_path)
    sample_tree(instance)
    manifest = svc.archive(PLUGIN, INSTANCE, Window()).manifest
    again = msgspec.json.decode(msgspec.json.encode(manifest), type=ArchiveManifest)
    assert again == manifest and again.expected()["artifacts/notes.txt"][1] == 2200
