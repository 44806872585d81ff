"""The folder agent's pure core: glob filtering, coalescing, rename pairing, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.agents.client_folder_activity.coalesce import (
    RECENT_LIMIT,
    Coalescer,
    FileId,
    RawEvent,
)
from mimolo.agents.client_folder_activity.globs import PathFilter, extension_of
from mimolo.agents.client_folder_activity.roots import (
    Presence,
    make_roots,
    overlaps_data_root,
    relative_to_root,
)
from mimolo.agents.client_folder_activity.spec import DEFAULT_EXCLUDE_GLOBS, PARAMS
from mimolo.errors import ConfigError
from mimolo.protocol.params import validate_params

DEFAULTS = PathFilter.compile([], DEFAULT_EXCLUDE_GLOBS)


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        "src/.git/objects/ab/cd",
        "node_modules/x/index.js",
        "pkg/__pycache__/m.cpython-311.pyc",
        "notes.txt.swp",
        "draft.tmp",
        "~$report.docx",
        "sub/.DS_Store",
        "file.txt~",
        ".git",
    ],
)
def test_default_excludes_ignore_noise(path: str) -> None:
    assert not DEFAULTS.accepts(path)


@pytest.mark.parametrize("path", ["main.py", "drawings/part.dwg", "a/b/c/report.docx", "git.md"])
def test_default_excludes_keep_work_files(path: str) -> None:
    assert DEFAULTS.accepts(path)


def test_include_globs_by_name_and_by_path() -> None:
    f = PathFilter.compile(["*.dwg", "docs/*.md"], [])
    assert f.accepts("a/b/part.dwg")
    assert f.accepts("docs/readme.md")
    assert not f.accepts("other/readme.md")
    assert not f.accepts("main.py")


def test_empty_glob_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as err:
        PathFilter.compile(["*.py", " "], [])
    assert err.value.field == "params.include_globs[1]"


def test_params_require_watch_paths() -> None:
    with pytest.raises(ConfigError) as err:
        validate_params(PARAMS, {})
    assert err.value.field == "params.watch_paths"
    with pytest.raises(ConfigError):
        validate_params(PARAMS, {"watch_paths": []})
    with pytest.raises(ConfigError):
        validate_params(PARAMS, {"watch_paths": ["/x"], "coalesce_window_s": -1})


@pytest.mark.parametrize(
    ("path", "ext"), [("a/B.DWG", ".dwg"), ("Makefile", ""), ("x.tar.gz", ".gz"), ("a.b c", "")]
)
def test_extension_of(path: str, ext: str) -> None:
    assert extension_of(path) == ext


def fid(ino: int, size: int = 10) -> FileId:
    return FileId(dev=1, ino=ino, size=size)


def coalescer(window: float = 5.0, max_pending: int = 1000, samples: int = 20) -> Coalescer:
    return Coalescer(window_s=window, max_pending=max_pending, samples_limit=samples)


def test_created_then_modified_within_window_counts_once_as_created() -> None:
    c = coalescer()
    c.feed(RawEvent("a.py", 0.0, fid(1), appeared=True))
    c.feed(RawEvent("a.py", 1.0, fid(1, 20)))
    c.feed(RawEvent("a.py", 2.0, fid(1, 30)))
    report = c.take(3.0)
    assert report.counts == {
        "created": 1,
        "modified": 0,
        "deleted": 0,
        "renamed": 0,
        "total": 1,
        "transient": 0,
    }
    assert report.path_samples[0]["path"] == "a.py"
    assert report.top_extensions == [{"ext": ".py", "count": 1}]


def test_changes_further_apart_than_the_window_count_separately() -> None:
    c = coalescer(window=5.0)
    c.feed(RawEvent("a.py", 0.0, fid(1), appeared=True))
    c.feed(RawEvent("a.py", 10.0, fid(1, 20)))
    assert c.take(11.0).counts["created"] == 1
    c2 = coalescer(window=5.0)
    c2.feed(RawEvent("a.py", 0.0, fid(1), appeared=True))
    c2.settle(6.0)
    c2.feed(RawEvent("a.py", 10.0, fid(1, 20)))
    counts = c2.take(11.0).counts
    assert (counts["created"], counts["modified"]) == (1, 1)


def test_created_then_deleted_nets_out_as_transient() -> None:
    c = coalescer()
    c.feed(RawEvent("scratch.txt", 0.0, fid(1), appeared=True))
    c.feed(RawEvent("scratch.txt", 1.0, None))
    report = c.take(2.0)
    assert report.total == 0
    assert report.counts["transient"] == 1
    assert report.path_samples == []


def test_baseline_files_are_never_created_and_atomic_saves_are_modifications() -> None:
    c = coalescer()
    c.load_baseline([("report.docx", fid(5))])
    # Editors save by renaming a temp file over the original: "added" on a known path.
    c.feed(RawEvent("report.docx", 0.0, fid(6), appeared=True))
    c.feed(RawEvent("other.docx", 0.0, None))  # an untracked file deleted
    counts = c.take(1.0).counts
    assert (counts["created"], counts["modified"], counts["deleted"]) == (0, 1, 1)


@pytest.mark.parametrize("delete_first", [True, False])
def test_delete_and_create_of_the_same_inode_is_a_rename(delete_first: bool) -> None:
    c = coalescer()
    c.load_baseline([("old/name.dwg", fid(7, 123))])
    events = [
        RawEvent("old/name.dwg", 0.0, None),
        RawEvent("new/name.dwg", 0.5, fid(7, 123), appeared=True),
    ]
    for event in events if delete_first else reversed(events):
        c.feed(event)
    report = c.take(1.0)
    assert report.counts["renamed"] == 1
    assert report.total == 1
    assert report.path_samples[0]["from"] == "old/name.dwg"
    assert report.path_samples[0]["path"] == "new/name.dwg"


def test_different_size_or_old_deletion_is_not_a_rename() -> None:
    c = coalescer(window=2.0)
    c.load_baseline([("a", fid(7, 1)), ("b", fid(8, 1))])
    c.feed(RawEvent("a", 0.0, None))
    c.feed(RawEvent("x", 0.0, fid(7, 999), appeared=True))  # inode reused, other size
    c.feed(RawEvent("b", 0.0, None))
    c.feed(RawEvent("y", 10.0, fid(8, 1), appeared=True))  # too late to pair
    counts = c.take(11.0).counts
    assert (counts["renamed"], counts["deleted"], counts["created"]) == (0, 2, 2)


def test_ten_thousand_file_burst_stays_bounded_and_exact() -> None:
    c = coalescer(window=5.0, max_pending=100, samples=20)
    for i in range(10_000):
        c.feed(RawEvent(f"burst/f{i}.dat", i * 0.001, fid(i + 1), appeared=True))
        assert c.pending <= 100
    report = c.take(100.0)
    assert report.counts["created"] == 10_000
    assert len(report.path_samples) == 20
    assert len(c.recent) == RECENT_LIMIT
    assert report.events_seen == 10_000


def test_extension_counter_is_bounded() -> None:
    c = coalescer()
    for i in range(500):
        c.feed(RawEvent(f"f{i}.e{i}", 0.0, fid(i + 1), appeared=True))
    report = c.take(1.0)
    assert len(report.top_extensions) == 10
    assert report.top_extensions[0] == {"ext": "(other)", "count": 500 - 64}


def test_events_while_not_recording_are_counted_as_dropped_and_keep_identities() -> None:
    c = coalescer()
    c.observe_only(RawEvent("new.txt", 0.0, fid(3), appeared=True))
    report = c.take(1.0)
    assert report.total == 0
    assert report.dropped_events == 1
    # The file is known now: a later "added" is a modification, not a creation.
    c.feed(RawEvent("new.txt", 5.0, fid(4), appeared=True))
    assert c.take(6.0).counts["modified"] == 1
    assert c.events_dropped_total == 1


def test_tracked_identities_are_bounded() -> None:
    c = Coalescer(window_s=1, max_pending=10, samples_limit=1, tracked_limit=50)
    assert c.load_baseline((f"f{i}", fid(i + 1)) for i in range(100)) == 50
    for i in range(100):
        c.feed(RawEvent(f"g{i}", 0.0, fid(1000 + i), appeared=True))
    assert c.tracked_files == 50


def test_recent_changes_are_kept_across_windows() -> None:
    c = coalescer(window=0.0)
    c.feed(RawEvent("a", 0.0, fid(1), appeared=True))
    c.take(1.0)
    c.feed(RawEvent("b", 2.0, fid(2), appeared=True))
    c.take(3.0)
    assert [ch.path for ch in c.recent] == ["a", "b"]


paths = st.sampled_from([f"p{i}" for i in range(8)])
events = st.lists(st.tuples(paths, st.floats(0, 3), st.booleans(), st.integers(1, 4)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(events, st.integers(1, 5))
def test_property_counts_never_exceed_events_and_pending_stays_bounded(
    evs: list[tuple[str, float, bool, int]], max_pending: int
) -> None:
    c = coalescer(window=1.0, max_pending=max_pending, samples=3)
    t = 0.0
    for path, dt, exists, ino in evs:
        t += dt
        c.feed(RawEvent(path, t, fid(ino) if exists else None, appeared=exists and dt > 1.5))
        assert c.pending <= max_pending
    report = c.take(t + 10)
    assert report.total + report.counts["transient"] <= len(evs)
    assert len(report.path_samples) <= 3
    assert c.pending == 0


@settings(max_examples=150, deadline=None)
@given(events, st.integers(1, 5), st.booleans())
def test_property_the_rename_index_always_matches_the_pending_bursts(
    evs: list[tuple[str, float, bool, int]], max_pending: int, settle_midway: bool
) -> None:
    c = coalescer(window=1.0, max_pending=max_pending, samples=3)

    def expected() -> dict[tuple[int, int, int], set[str]]:
        index: dict[tuple[int, int, int], set[str]] = {}
        for path, burst in c._pending.items():
            key = c._rename_key(burst)
            if key is not None:
                index.setdefault(key, set()).add(path)
        return index

    t = 0.0
    for n, (path, dt, exists, ino) in enumerate(evs):
        t += dt
        c.feed(RawEvent(path, t, fid(ino) if exists else None, appeared=exists and dt > 1.5))
        if settle_midway and n % 7 == 3:
            c.settle(t)
        assert {k: set(v) for k, v in c._rename_partners.items()} == expected()
    c.take(t + 10)
    assert c._rename_partners == {}  # nothing left behind once every burst settled


def test_a_rename_pairs_with_the_most_recent_partner_in_the_window() -> None:
    c = coalescer(window=1.0)
    c.load_baseline([("old-a", fid(7)), ("old-b", fid(7))])  # one identity, seen twice
    c.feed(RawEvent("old-a", 0.1, None))
    c.feed(RawEvent("old-b", 0.5, None))
    c.feed(RawEvent("new", 0.8, fid(7), appeared=True))
    report = c.take(5.0)
    assert report.counts["renamed"] == 1 and report.counts["deleted"] == 1
    by_kind = {s["kind"]: s for s in report.path_samples}
    assert by_kind["renamed"]["from"] == "old-b" and by_kind["renamed"]["path"] == "new"
    assert by_kind["deleted"]["path"] == "old-a"


def test_roots_are_prefixed_only_when_there_are_several(tmp_path: object) -> None:
    one = make_roots(["/srv/a"])
    assert one[0].prefix == ""
    two = make_roots(["/srv/x/proj", "/srv/y/proj", "/srv/z"])
    assert [r.prefix for r in two] == ["proj", "proj#2", "z"]
    found = relative_to_root(two, "/srv/y/proj/sub/f.txt")
    assert found is not None
    assert found[0].display(found[1]) == "proj#2/sub/f.txt"
    assert relative_to_root(two, "/srv/elsewhere/f.txt") is None


def test_presence_reports_each_transition_once() -> None:
    roots = make_roots(["/a", "/b"])
    presence = Presence(roots)
    a, b = roots[0].path, roots[1].path
    assert presence.update({a, b}) == ([], [])
    assert presence.update({a}) == ([b], [])
    assert presence.update({a}) == ([], [])
    assert presence.update({a, b}) == ([], [b])
    assert presence.update({a, b}) == ([], [])


def test_overlap_with_the_data_root(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    data = base / "home" / "data"
    data.mkdir(parents=True)
    assert overlaps_data_root(base / "home", data)
    assert overlaps_data_root(data, data)
    assert overlaps_data_root(data / "sub", data)
    assert not overlaps_data_root(base / "elsewhere", data)
    assert not overlaps_data_root(base, None)
