"""Paused spans from the capture audit trail: hand-written cases, properties, the files."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.dataroot import DataRoot
from mimolo.timeline.pauses import PausedSpan, paused_spans, read_capture_audits

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY_END = T0 + timedelta(hours=12)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def audit(minutes: float, action: str, until: float | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"ts": iso(at(minutes)), "kind": "audit", "action": action}
    record["until"] = None if until is None else iso(at(until))
    return {**record, "via": "ipc", **extra}


def spans(records: list[dict[str, Any]], now: float = 600) -> list[tuple[float, float, bool]]:
    out = paused_spans(records, T0, DAY_END, now=at(now))
    return [((s.start - T0).total_seconds() / 60, (s.end - T0).total_seconds() / 60, s.ongoing)
            for s in out]  # fmt: skip


def test_pause_then_resume() -> None:
    records = [audit(10, "pause_capture"), audit(25, "resume_capture")]
    assert spans(records) == [(10, 25, False)]


def test_a_timed_pause_ends_at_its_until_with_or_without_the_expiry_record() -> None:
    timed = [audit(10, "pause_capture", until=40)]
    assert spans(timed) == [(10, 40, False)]
    assert spans([*timed, audit(40.02, "pause_expired", until=40)]) == [(10, 40, False)]
    assert spans([*timed, audit(50, "pause_capture")]) == [(10, 40, False), (50, 600, True)]


def test_extending_a_pause_moves_its_end_and_keeps_its_start() -> None:
    records = [audit(10, "pause_capture", until=20), audit(15, "pause_capture", until=60)]
    assert spans(records) == [(10, 60, False)]
    assert spans([*records, audit(30, "resume_capture")]) == [(10, 30, False)]


def test_an_open_pause_is_ongoing_until_now_and_clipped_to_the_window() -> None:
    assert spans([audit(-120, "pause_capture")], now=30) == [(0, 30, True)]
    assert spans([audit(-120, "pause_capture", until=-60)]) == []


def test_other_records_and_a_resume_without_a_pause_are_ignored() -> None:
    records = [
        {"ts": iso(at(1)), "kind": "audit", "action": "apply_config"},
        {"ts": iso(at(2)), "kind": "log", "action": "pause_capture"},
        {"ts": "garbage", "kind": "audit", "action": "pause_capture"},
        audit(3, "resume_capture"),
        audit(5, "pause_capture"),
        audit(4, "resume_capture"),  # out of order in the input: sorted by time
        audit(9, "resume_capture"),
    ]
    assert spans(records) == [(5, 9, False)]
    (only,) = paused_spans(records, T0, DAY_END, now=at(600))
    assert only.by == "ipc" and only.duration_s == 240


actions = st.lists(
    st.tuples(
        st.integers(0, 600),
        st.sampled_from(["pause_capture", "resume_capture", "pause_expired"]),
        st.one_of(st.none(), st.integers(0, 700)),
    ),
    max_size=12,
    unique_by=lambda item: item[0],  # ties keep the files' order; reversing would swap them
)


@settings(max_examples=300, deadline=None)
@given(actions, st.integers(0, 700), st.integers(0, 400), st.integers(1, 400))
def test_spans_are_ordered_disjoint_and_inside_the_window(
    trail: list[tuple[int, str, int | None]], now: int, lo: int, width: int
) -> None:
    records = [audit(m, action, until) for m, action, until in trail]
    start, end = at(lo), at(lo + width)
    out: list[PausedSpan] = paused_spans(records, start, end, now=at(now))
    for span in out:
        assert start <= span.start < span.end <= end
    for a, b in itertools.pairwise(out):
        assert a.end <= b.start
    assert paused_spans(list(reversed(records)), start, end, now=at(now)) == out


def test_read_capture_audits_from_the_diagnostics_files(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    earlier = T0 - timedelta(days=2)
    lines: dict[date, list[dict[str, Any]]] = {
        earlier.date(): [
            {"ts": iso(earlier), "kind": "audit", "action": "pause_capture", "until": None}
        ],
        T0.date(): [
            {"ts": iso(at(1)), "kind": "heartbeat", "instance_id": "a"},
            {"ts": iso(at(2)), "kind": "audit", "action": "add_agent_instance"},
            {"ts": iso(at(3)), "kind": "audit", "action": "resume_capture", "via": "cli"},
        ],
    }
    for day, records in lines.items():
        path = root.diagnostics_file(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(json.dumps(r) + "\n" for r in records) + '{"kind": "audit", torn\n'
        path.write_text(body)
    found = read_capture_audits(root, T0, DAY_END)
    assert [r["action"] for r in found] == ["pause_capture", "resume_capture"]
    # a pause begun two days before the window shows from the window's start
    assert paused_spans(found, T0, DAY_END, now=DAY_END) == [
        PausedSpan(start=T0, end=at(3), by=None)
    ]
