"""What the ledger writes for the chain: links, the host key, checkpoints of every kind,
a legacy ledger's chain start, a clock that steps back, an unreadable checkpoint file."""

from __future__ import annotations

import itertools
import json
import stat
from datetime import UTC, datetime, timedelta

from evidence._ledgers import FIRST_DAY, checkpoint_of, day_path, run_verify, summary, write_days
from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import read_checkpoints
from mimolo.operations.host_key import PRIVATE_NAME, PUBLIC_NAME, load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.protocol.chain import ZERO_HASH, parse_link
from mimolo.protocol.evidence import wrap_summary


def kinds(root: DataRoot, d: int) -> list[str]:
    return [c["kind"] for c in read_checkpoints(checkpoint_of(root, d))]


def _append(ledger: Ledger, at: datetime, minute: int = 0) -> int:
    return ledger.append(
        plugin_id="agent_example",
        instance_id="a1",
        instance_label="A",
        raw_summary=summary(minute),
        received_at=at,
    )


def test_every_line_links_to_the_one_before_across_days(data_root: DataRoot) -> None:
    write_days(data_root, days=2, per_day=3)
    links = [
        parse_link(line)
        for d in range(2)
        for line in day_path(data_root, d).read_bytes().splitlines()
    ]
    assert all(link is not None for link in links)
    assert links[0] is not None and links[0].prev == ZERO_HASH
    for before, after in itertools.pairwise(links):
        assert before is not None and after is not None
        assert after.prev == before.hash and after.seq == before.seq + 1
    assert kinds(data_root, 0) == ["day_close"]
    assert kinds(data_root, 1) == ["shutdown"]


def test_the_host_key_is_private_and_kept(data_root: DataRoot) -> None:
    first = load_or_create_host_key(data_root)
    private = data_root.trust_dir / PRIVATE_NAME
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_root.trust_dir / PUBLIC_NAME).stat().st_mode) == 0o600
    assert load_or_create_host_key(data_root).key_id == first.key_id


def test_a_clean_restart_needs_no_resume_and_a_crash_gets_one(data_root: DataRoot) -> None:
    write_days(data_root, days=1, per_day=2)
    write_days(data_root, days=1, per_day=2)  # clean shutdown in between
    assert kinds(data_root, 0) == ["shutdown", "shutdown"]
    crashed = Ledger(data_root, host="testhost", host_key=load_or_create_host_key(data_root))
    crashed.open()
    _append(crashed, datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(hours=20))
    crashed.commit()  # written, never closed: as if killed
    reopened = Ledger(data_root, host="testhost", host_key=load_or_create_host_key(data_root))
    assert reopened.open().last_seq == 5
    assert kinds(data_root, 0)[-1] == "chain_resume"
    assert read_checkpoints(checkpoint_of(data_root, 0))[-1]["quarantined"] == []
    reopened.close()
    assert run_verify(data_root).ok


def test_a_ledger_from_before_the_chain_starts_one_and_still_reads(data_root: DataRoot) -> None:
    at = datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(hours=8)
    legacy = b"".join(
        wrap_summary(
            seq=seq,
            record_id=f"{seq:032x}",
            received_at=at,
            plugin_id="agent_example",
            instance_id="a1",
            instance_label="A",
            host="testhost",
            raw_summary=summary(seq),
        )
        for seq in (1, 2, 3)
    )
    day_path(data_root, 0).parent.mkdir(parents=True, exist_ok=True)
    day_path(data_root, 0).write_bytes(legacy)
    write_days(data_root, days=2, per_day=2)
    starts = [
        c for c in read_checkpoints(checkpoint_of(data_root, 0)) if c["kind"] == "chain_start"
    ]
    assert [(c["seq"], c["hash"]) for c in starts] == [(3, ZERO_HASH)]
    report = run_verify(data_root)
    assert report.ok, report.problems
    assert (report.unchained, report.records) == (3, 4)


def test_a_chain_start_is_needed_for_a_chain_that_begins_late(data_root: DataRoot) -> None:
    test_a_ledger_from_before_the_chain_starts_one_and_still_reads(data_root)
    path = checkpoint_of(data_root, 0)
    doc = json.loads(path.read_bytes())
    doc["checkpoints"] = [c for c in doc["checkpoints"] if c["kind"] != "chain_start"]
    path.write_text(json.dumps(doc))
    problem = run_verify(data_root).problems[0]
    assert (problem.kind, problem.line, problem.seq) == ("missing_checkpoint", 4, 4)


def test_a_clock_stepping_back_never_writes_into_an_earlier_day(data_root: DataRoot) -> None:
    ledger = Ledger(data_root, host="testhost", host_key=load_or_create_host_key(data_root))
    ledger.open()
    day2 = datetime.combine(FIRST_DAY + timedelta(days=1), datetime.min.time(), UTC)
    _append(ledger, day2 + timedelta(minutes=5))
    _append(ledger, day2 - timedelta(minutes=5))  # the clock went back over midnight
    ledger.close()
    assert not day_path(data_root, 0).exists()
    assert len(day_path(data_root, 1).read_bytes().splitlines()) == 2
    assert run_verify(data_root).ok


def test_an_unreadable_checkpoint_file_is_moved_aside_not_lost(data_root: DataRoot) -> None:
    write_days(data_root, days=1, per_day=2)
    path = checkpoint_of(data_root, 0)
    path.write_bytes(b"{not json")
    write_days(data_root, days=1, per_day=1)
    aside = list(path.parent.glob("*.unreadable-*.json"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"{not json"
    assert kinds(data_root, 0)[-1] == "shutdown"
