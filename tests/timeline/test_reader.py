"""The ledger reader: windows, neighbouring days, and bad lines as warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.timeline import read_evidence, read_file
from mimolo.timeline.reader import evidence_days, parse_lines

from ._ledger import ledger_line

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def good(n: int) -> bytes:
    return ledger_line("fa", minute(n), minute(n + 1), client="acme", seq=n + 1)


BAD_LINES = {
    "not_json": b"this is not json",
    "truncated": good(0)[:40].rstrip(b"\n"),
    "not_object": b"[1, 2, 3]",
    "missing_record": b'{"seq":1,"plugin_id":"p","instance_id":"i"}',
    "wrong_type": good(0).replace(b'"seq":1', b'"seq":"one"').rstrip(b"\n"),
    "not_summary": good(0).replace(b'"type":"summary"', b'"type":"heartbeat"').rstrip(b"\n"),
    "bad_mode": good(0).replace(b'"mode":"active"', b'"mode":"busy"').rstrip(b"\n"),
    "invalid_utf8": b'{"seq":1,"plugin_id":"\xff\xfe"}',
    "reversed_window": ledger_line("fa", minute(5), minute(4)).rstrip(b"\n"),
}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_bad_line_is_a_warning_with_file_and_line_and_good_lines_survive(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / "day.evidence.jsonl"
    path.write_bytes(good(0) + good(1) + BAD_LINES[name] + b"\n" + good(2))
    summaries, warnings = read_file(path)
    assert [s.start for s in summaries] == [minute(n).timestamp() for n in (0, 1, 2)]
    assert len(warnings) == 1
    assert warnings[0].line == 3
    assert str(warnings[0]).startswith(f"{path}:3: ")


def test_torn_last_line_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "day.evidence.jsonl"
    path.write_bytes(good(0) + good(1)[:-30])
    summaries, warnings = read_file(path)
    assert len(summaries) == 1
    assert [(w.line, w.reason) for w in warnings] == [(2, "torn line (no newline at end of file)")]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "day.evidence.jsonl"
    path.write_bytes(good(0) + good(1).rstrip(b"\n"))
    summaries, warnings = read_file(path)
    assert len(summaries) == 2 and warnings == []


def test_blank_lines_are_ignored_and_line_numbers_stay_right() -> None:
    data = good(0) + b"\n" + b"   \n" + b"garbage\n" + good(1)
    summaries, warnings = parse_lines(data, "f")
    assert len(summaries) == 2
    assert [w.line for w in warnings] == [4]


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_file(tmp_path / "nope.jsonl") == ([], [])


def test_summary_fields_are_read(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(
        ledger_line("screen", minute(0), minute(1), mode="passive", keep_alive=None) + good(3)
    )
    (passive, active), _ = read_file(path)
    assert (passive.instance_id, passive.mode, passive.keep_alive, passive.client_id) == (
        "screen",
        "passive",
        None,
        None,
    )
    assert (active.plugin_id, active.mode, active.keep_alive, active.client_id) == (
        "test_plugin",
        "active",
        True,
        "acme",
    )
    assert (active.start, active.end) == (minute(3).timestamp(), minute(4).timestamp())


def test_summary_without_window_uses_timestamp(tmp_path: Path) -> None:
    line = good(0).replace(
        b',"window":{"start":"2026-03-02T09:00:00Z","end":"2026-03-02T09:01:00Z"}', b""
    )
    assert b"window" not in line
    path = tmp_path / "f.jsonl"
    path.write_bytes(line)
    (s,), warnings = read_file(path)
    assert s.start == s.end == minute(1).timestamp() and warnings == []


def test_evidence_days_include_a_day_either_side() -> None:
    days = evidence_days(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, 12, tzinfo=UTC))
    assert [d.day for d in days] == [1, 2, 3, 4]


def test_read_evidence_reads_neighbour_days_and_filters_to_window(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path)
    day = T0.date()
    late = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    # Received just after midnight: lives in the next day's file but covers the 2nd.
    root.evidence_file(day + timedelta(days=1)).parent.mkdir(parents=True)
    root.evidence_file(day + timedelta(days=1)).write_bytes(
        ledger_line("fa", late, late + timedelta(minutes=1)) + good(60 * 24 * 2)
    )
    root.evidence_file(day).write_bytes(good(0) + b"junk\n")
    root.evidence_file(day - timedelta(days=5)).write_bytes(good(-5 * 24 * 60))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    summaries, warnings = read_evidence(root, start, start + timedelta(days=1), cache=None)
    assert sorted(s.start for s in summaries) == [T0.timestamp(), late.timestamp()]
    assert len(warnings) == 1 and warnings[0].path == str(root.evidence_file(day))


def test_read_evidence_rejects_bad_windows(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path)
    with pytest.raises(ConfigError, match="not after"):
        read_evidence(root, T0, T0)
    with pytest.raises(ConfigError, match="timezone"):
        read_evidence(root, datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_large_file_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mimolo.timeline import reader

    monkeypatch.setattr(reader, "_CHUNK_BYTES", 700)  # lines straddle chunk boundaries
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"".join(good(n) for n in range(50)) + b"oops\n" + good(50))
    summaries, warnings = read_file(path)
    assert len(summaries) == 51
    assert [w.line for w in warnings] == [51]
