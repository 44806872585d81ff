"""The evidence viewer's reader: raw lines kept, torn lines and bad artifact refs reported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mimolo.control.evidence_reader import days_between, read_raw_evidence
from mimolo.control.routes.evidence import derived_segments
from mimolo.dataroot import DataRoot

from ._live import short_data_root
from .ledger_files import summary_line, write_ledger

DAY = datetime(2026, 3, 4, tzinfo=UTC)


@pytest.fixture
def root() -> Iterator[DataRoot]:
    with short_data_root() as data_root:
        yield data_root


def _window(hours: float = 24) -> tuple[datetime, datetime]:
    return DAY, DAY + timedelta(hours=hours)


def test_raw_lines_are_returned_byte_for_byte(root: DataRoot) -> None:
    lines = [summary_line(i, DAY + timedelta(hours=9, minutes=i)) for i in range(3)]
    write_ledger(root, DAY, lines)
    page = read_raw_evidence(root, *_window())
    assert [r.raw.encode() + b"\n" for r in page.records] == lines
    assert [r.seq for r in page.records] == [0, 1, 2]
    assert page.warnings == []
    assert page.files == ["operations/evidence/2026/20260304.evidence.jsonl"]


def test_torn_and_garbage_lines_are_reported_and_kept(root: DataRoot) -> None:
    good = summary_line(1, DAY + timedelta(hours=9))
    torn = summary_line(2, DAY + timedelta(hours=10))[:40]
    write_ledger(root, DAY, [good, b"not json at all\n", torn])
    page = read_raw_evidence(root, *_window())
    assert [r.torn for r in page.records] == [False, True, True]
    kinds = [(w.kind, w.line_no) for w in page.warnings]
    assert kinds == [("torn_line", 2), ("torn_line", 3)]


def test_active_filter_and_instance_filter(root: DataRoot) -> None:
    write_ledger(
        root,
        DAY,
        [
            summary_line(1, DAY + timedelta(hours=9)),
            summary_line(2, DAY + timedelta(hours=9), instance_id="screen", mode="passive"),
        ],
    )
    assert [
        r.instance_id for r in read_raw_evidence(root, *_window(), active_only=True).records
    ] == ["folders-acme"]
    only_screen = read_raw_evidence(root, *_window(), instance_id="screen").records
    assert [r.mode for r in only_screen] == ["passive"]


def test_records_outside_the_window_are_left_out(root: DataRoot) -> None:
    write_ledger(
        root,
        DAY,
        [summary_line(1, DAY + timedelta(hours=8)), summary_line(2, DAY + timedelta(hours=15))],
    )
    page = read_raw_evidence(root, DAY + timedelta(hours=12), DAY + timedelta(hours=18))
    assert [r.seq for r in page.records] == [2]


def test_limit_truncates_and_says_so(root: DataRoot) -> None:
    write_ledger(root, DAY, [summary_line(i, DAY + timedelta(minutes=i)) for i in range(20)])
    page = read_raw_evidence(root, *_window(), limit=5)
    assert len(page.records) == 5
    assert page.truncated


def _artifact(rel_path: str) -> dict[str, object]:
    return {
        "artifacts": [
            {
                "artifact_id": "a1",
                "rel_path": rel_path,
                "sha256": "0" * 64,
                "bytes": 3,
                "mime": "image/png",
                "captured_at": DAY.isoformat(),
            }
        ]
    }


def test_missing_and_escaping_artifact_refs_are_warned(root: DataRoot) -> None:
    present = root.instance_dir("screen_tracker", "screen") / "artifacts" / "ok.png"
    present.parent.mkdir(parents=True)
    present.write_bytes(b"png")
    lines = [
        summary_line(1, DAY, instance_id="screen", plugin_id="screen_tracker",
                     extra=_artifact("artifacts/ok.png")),
        summary_line(2, DAY, instance_id="screen", plugin_id="screen_tracker",
                     extra=_artifact("artifacts/gone.png")),
        summary_line(3, DAY, instance_id="screen", plugin_id="screen_tracker",
                     extra=_artifact("../../../../etc/passwd")),
        summary_line(4, DAY, instance_id="screen", plugin_id="screen_tracker",
                     extra=_artifact("/etc/passwd")),
    ]  # fmt: skip
    write_ledger(root, DAY, lines)
    page = read_raw_evidence(root, *_window())
    assert [(w.kind, w.line_no) for w in page.warnings] == [
        ("missing_artifact", 2),
        ("unsafe_artifact_path", 3),
        ("unsafe_artifact_path", 4),
    ]


def test_no_ledger_files_is_an_empty_page(root: DataRoot) -> None:
    page = read_raw_evidence(root, *_window())
    assert page.records == [] and page.files == [] and page.warnings == []


def test_days_between_covers_each_touched_day() -> None:
    start = DAY + timedelta(hours=23)
    assert list(days_between(start, start + timedelta(hours=2))) == [
        DAY.date(),
        (DAY + timedelta(days=1)).date(),
    ]
    assert list(days_between(DAY, DAY + timedelta(days=1))) == [DAY.date()]


def test_derived_segments_join_within_cooldown(root: DataRoot) -> None:
    lines = [summary_line(i, DAY + timedelta(hours=9, minutes=i)) for i in range(5)]
    lines.append(summary_line(9, DAY + timedelta(hours=14)))
    write_ledger(root, DAY, lines)
    page = read_raw_evidence(root, *_window())
    segments = derived_segments(page.records, *_window())
    assert len(segments) == 2
    assert segments[0].start == DAY + timedelta(hours=9)
    assert segments[0].end == DAY + timedelta(hours=9, minutes=5)
    assert segments[0].client_ids == ["acme"]
