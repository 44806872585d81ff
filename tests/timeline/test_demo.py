"""Demo evidence: deterministic, exact ledger format, realistic enough to derive from."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.protocol.codec import decode_message
from mimolo.protocol.evidence import EvidenceRecord, view_decoder
from mimolo.protocol.messages import SummaryMessage
from mimolo.timeline import TimelinePolicy, timeline_for
from mimolo.timeline.demo import DEMO_CLIENTS, DemoSpec, generate, write_demo

SPEC = DemoSpec(days=5, seed=7, end=date(2026, 3, 6))


def digest(spec: DemoSpec) -> str:
    h = hashlib.sha256()
    for day, payload in generate(spec):
        h.update(day.isoformat().encode() + payload)
    return h.hexdigest()


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    assert digest(SPEC) == digest(SPEC)
    assert digest(SPEC) != digest(DemoSpec(days=5, seed=8, end=date(2026, 3, 6)))


def test_written_files_are_identical_across_runs_and_private(tmp_path: Path) -> None:
    a, b = DataRoot.resolve(tmp_path / "a"), DataRoot.resolve(tmp_path / "b")
    stats = write_demo(a, SPEC)
    write_demo(b, SPEC)
    files = sorted(a.evidence_dir.rglob("*.jsonl"))
    assert len(files) == stats.files >= 4
    for f in files:
        twin = b.root / f.relative_to(a.root)
        assert f.read_bytes() == twin.read_bytes()
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert sum(f.read_bytes().count(b"\n") for f in files) == stats.summaries


def test_lines_are_exact_ledger_records_around_valid_summaries() -> None:
    decoder = view_decoder()
    record_decoder = msgspec.json.Decoder(EvidenceRecord)
    clients: set[str] = set()
    modes: set[str] = set()
    for day, payload in generate(SPEC):
        for line in payload.splitlines():
            view = decoder.decode(line)
            assert view.received_at.date() == day
            raw = record_decoder.decode(line).record
            message = decode_message(bytes(raw))
            assert isinstance(message, SummaryMessage)
            signal = view.record.data.activity_signal
            assert signal is not None
            modes.add(signal.mode)
            if view.record.data.client_id:
                clients.add(view.record.data.client_id)
    assert clients == set(DEMO_CLIENTS)
    assert modes == {"active", "passive"}


def test_demo_days_derive_to_plausible_work(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path)
    spec = DemoSpec(days=7, seed=3, end=date(2026, 3, 6))  # Sat 28 Feb .. Fri 6 Mar
    write_demo(root, spec)
    start = datetime(2026, 2, 28, tzinfo=UTC)
    tl, warnings = timeline_for(
        root, start, start + timedelta(days=7), TimelinePolicy(), cache=None
    )
    assert warnings == []
    weekdays = [d for d in tl.per_day if d.day.weekday() < 5]
    assert len(weekdays) == 5
    for d in weekdays:
        assert 2 * 3600 < d.duration_s < 11 * 3600
    assert set(tl.per_client) <= set(DEMO_CLIENTS)
    assert all("screen" in s.instances for s in tl.segments)


def test_desktop_adds_a_desktop_activity_instance_and_leaves_the_others_alone() -> None:
    with_desktop = DemoSpec(days=5, seed=7, end=date(2026, 3, 6), desktop=True)
    assert digest(with_desktop) == digest(with_desktop)
    decoder = msgspec.json.Decoder(EvidenceRecord)
    plain = [line for _, p in generate(SPEC) for line in p.splitlines()]
    desktop: list[dict[str, object]] = []
    others: list[bytes] = []
    for _, payload in generate(with_desktop):
        for line in payload.splitlines():
            rec = decoder.decode(line)
            if rec.plugin_id == "desktop_activity":
                message = decode_message(bytes(rec.record))
                assert isinstance(message, SummaryMessage)
                desktop.append(message.data)
            else:
                others.append(bytes(rec.record))
    assert [bytes(decoder.decode(line).record) for line in plain] == others
    states = {d["state"] for d in desktop}
    assert states == {"active", "idle"}
    for d in desktop:
        signal = d["activity_signal"]
        assert isinstance(signal, dict)
        assert (signal["mode"] == "active") == (d["state"] == "active") == signal["keep_alive"]
        apps = d["applications"]
        assert isinstance(apps, list)
        assert (len(apps) > 0) == (d["state"] == "active")
