"""The review's kept pieces on disk: a new process reviews closed days without reading
their ledger, never from a stale or corrupt copy, in private files, bounded in number."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mimolo.dataroot import DataRoot
from mimolo.protocol.review import Assignment, Rule, RuleMatch
from mimolo.timeline import DayCache, TimelinePolicy, cache_for
from mimolo.timeline.piece_store import PieceStore, store_dir
from mimolo.timeline.review import ReviewInputs, reviewed_timeline
from mimolo.timeline.reviewed import ReviewedTimeline

from ._ledger import ledger_line
from ._review import adj, inputs

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
NOW = DAY0 + timedelta(days=10)
DAYS = 4
WINDOW = (DAY0, DAY0 + timedelta(days=DAYS))
POLICY = TimelinePolicy(cooldown_s=300)
RULES = (
    Rule(rule_id="fb-web", match=RuleMatch(instance_id="fb"), assign=Assignment(project="web")),
)


def _write_days(root: DataRoot) -> None:
    """Four days of two folder agents and a screen, with one bad line on the second day."""
    seq = 0
    for day in range(DAYS):
        base = DAY0 + timedelta(days=day, hours=9)
        lines: list[bytes] = []
        for m in range(40):
            seq += 1
            inst = "fa" if m % 3 else "fb"
            at = base + timedelta(minutes=m)
            lines.append(ledger_line(inst, at, at + timedelta(minutes=1), client="acme", seq=seq))
        seq += 1
        lines.append(
            ledger_line(
                "screen", base, base + timedelta(minutes=40), mode="passive", keep_alive=None,
                seq=seq,
            )
        )  # fmt: skip
        if day == 1:
            lines.append(b'{"not a ledger line"\n')
        path = root.evidence_file((DAY0 + timedelta(days=day)).date())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(lines))


def _root(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(str(tmp_path / "root")).ensure()
    _write_days(root)
    return root


def _review(root: DataRoot, cache: DayCache | None, review: ReviewInputs) -> ReviewedTimeline:
    return reviewed_timeline(root, *WINDOW, POLICY, review, cache=cache, now=NOW)


def _adjusted() -> ReviewInputs:
    """Rules and adjustments that cut kept pieces (their records are then needed)."""
    return inputs(
        rules=RULES,
        adjustments=(
            adj(1, "exclude_range", 1440 + 9 * 60 + 5, 1440 + 9 * 60 + 12),
            adj(2, "assign_range", 2 * 1440 + 9 * 60, 2 * 1440 + 9 * 60 + 20, client="globex"),
            adj(3, "manual_entry", 3 * 1440 + 14 * 60, 3 * 1440 + 15 * 60, client="acme"),
        ),
    )


def test_a_new_process_reviews_kept_days_without_reading_the_ledger(tmp_path: Path) -> None:
    root = _root(tmp_path)
    review = _adjusted()
    fresh = _review(root, None, review)
    assert fresh.warnings and len(fresh.segments) >= DAYS
    first = DayCache(pieces=PieceStore(tmp_path / "store"))
    assert _review(root, first, review) == fresh
    assert first.misses > 0  # the first process read the ledger files
    second = DayCache(pieces=PieceStore(tmp_path / "store"))  # as a new process would
    assert _review(root, second, review) == fresh  # warnings and adjustments included
    assert second.misses == 0 and second.hits == 0  # no ledger file was read at all
    assert len(second.derived) > 0  # what it read from disk is kept in memory too


def test_other_rules_or_a_changed_file_are_never_served_from_disk(tmp_path: Path) -> None:
    root = _root(tmp_path)
    review = inputs(rules=RULES)
    _review(root, DayCache(pieces=PieceStore(tmp_path / "store")), review)
    other = inputs(
        rules=(
            Rule(
                rule_id="all-globex",
                match=RuleMatch(instance_id="f*"),
                assign=Assignment(client_id="globex"),
            ),
        )
    )
    got = _review(root, DayCache(pieces=PieceStore(tmp_path / "store")), other)
    assert got == _review(root, None, other)
    assert {s.client_id for s in got.segments} == {"globex"}  # not the kept "acme"
    at = DAY0 + timedelta(days=2, hours=16)
    path = root.evidence_file(at.date())
    with path.open("ab") as fh:
        fh.write(ledger_line("fa", at, at + timedelta(minutes=5), client="acme", seq=9_999))
    changed = _review(root, DayCache(pieces=PieceStore(tmp_path / "store")), review)
    assert changed == _review(root, None, review)
    assert any(9_999 in s.summary_seqs for s in changed.segments)


def test_corrupt_or_foreign_copies_are_misses(tmp_path: Path) -> None:
    root = _root(tmp_path)
    review = _adjusted()
    fresh = _review(root, None, review)
    store = tmp_path / "store"
    _review(root, DayCache(pieces=PieceStore(store)), review)
    files = sorted(store.iterdir())
    assert {f.suffix for f in files} == {".digest", ".pieces"}
    for i, f in enumerate(files):
        data = f.read_bytes()
        damaged = (b"", b"\xff garbage", data[: len(data) // 2], data[:-3] + b"\x00\x00\x00")
        f.write_bytes(damaged[i % 4])
    again = DayCache(pieces=PieceStore(store))
    assert _review(root, again, review) == fresh
    assert again.misses > 0  # what could not be used was read from the ledger again


def test_unwritable_store_still_reviews(tmp_path: Path) -> None:
    root = _root(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    review = _adjusted()
    assert _review(root, DayCache(pieces=PieceStore(blocker / "store")), review) == _review(
        root, None, review
    )


def test_files_are_private_and_bounded_in_number(tmp_path: Path) -> None:
    root = _root(tmp_path)
    cache = cache_for(root)
    assert cache.pieces is not None and cache.pieces.directory == store_dir(root)
    review = inputs(rules=RULES)
    _review(root, cache, review)
    directory = store_dir(root)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    small = PieceStore(tmp_path / "small", max_files=3)
    for n in range(6):  # six rule sets: six sets of pieces, four digests
        rules = (
            Rule(rule_id=f"r{n}", match=RuleMatch(instance_id="fa"),
                 assign=Assignment(project=f"p{n}")),
        )  # fmt: skip
        _review(root, DayCache(pieces=small), inputs(rules=rules))
    small.prune()
    assert len(list((tmp_path / "small").iterdir())) == 3
    assert _review(root, DayCache(pieces=PieceStore(tmp_path / "small")), review) == _review(
        root, None, review
    )
