"""The tamper corpus: every way of changing a ledger after the fact is detected, with the
right kind at the right file and line (issue 19)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence._ledgers import FIRST_DAY, checkpoint_of, day_path, run_verify, summary, write_days
from mimolo.dataroot import DataRoot
from mimolo.evidence.verify import Problem
from mimolo.protocol.chain import chain_line, key_id, parse_link, sign_checkpoint


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def rel(root: DataRoot, path: Path) -> str:
    return str(path.relative_to(root.evidence_dir))


@pytest.fixture
def ledger(data_root: DataRoot) -> DataRoot:
    write_days(data_root, days=3, per_day=10)
    assert run_verify(data_root).ok
    return data_root


def test_a_clean_ledger_verifies_every_day(ledger: DataRoot) -> None:
    report = run_verify(ledger)
    assert report.ok and report.records == 30 and report.checkpoints == 3
    assert [d.status for d in report.days] == ["verified"] * 3
    assert report.last_seq == 30


def test_one_changed_byte_is_an_edit_at_its_line(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    lines = lines_of(path)
    lines[4] = lines[4].replace(b'"n":1480', b'"n":1481')
    rewrite(path, lines)
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line, problem.seq) == (
        "edited",
        rel(ledger, path),
        5,
        15,
    )
    days = run_verify(ledger).days
    assert (days[1].status, days[1].broken_line) == ("broken", 5)
    assert days[0].status == days[2].status == "verified"


def test_a_deleted_line_is_reported_where_it_was(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    lines = lines_of(path)
    del lines[4]
    rewrite(path, lines)
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line) == ("deleted", rel(ledger, path), 5)
    assert "15..15" in problem.message


def test_two_swapped_lines_are_one_reordering(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    lines = lines_of(path)
    lines[4], lines[5] = lines[5], lines[4]
    rewrite(path, lines)
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line) == ("reordered", rel(ledger, path), 5)


def test_a_forged_line_with_a_recomputed_hash_is_an_insertion(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    lines = lines_of(path)
    before = parse_link(lines[4])
    assert before is not None
    body = (
        b'{"seq":16,"id":"forged","received_at":"2026-03-02T09:04:30Z","plugin_id":'
        b'"agent_example","instance_id":"a1","instance_label":"A","host":"testhost",'
        b'"record":' + summary(1485).rstrip() + b"}"
    )
    forged, _ = chain_line(body, before.hash)
    lines.insert(5, forged)
    rewrite(path, lines)
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line) == ("inserted", rel(ledger, path), 6)


def test_an_edit_whose_hash_was_recomputed_breaks_the_next_link(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    lines = lines_of(path)
    link = parse_link(lines[4])
    assert link is not None
    body = lines[4][: -len(b',"prev":"') - 64 - len(b'","hash":"') - 64 - 3] + b"}"
    body = body.replace(b'"n":1480', b'"n":9999')
    lines[4], _ = chain_line(body, link.prev)
    rewrite(path, lines)
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line, problem.seq) == (
        "edited",
        rel(ledger, path),
        5,
        15,
    )


def test_a_truncated_day_is_caught_by_its_signed_checkpoint(ledger: DataRoot) -> None:
    path = day_path(ledger, 0)
    rewrite(path, lines_of(path)[:7])
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line) == ("truncated", rel(ledger, path), 8)
    assert "seq 7" in problem.message and "seq 10" in problem.message


def test_a_deleted_day_is_reported_at_the_next_day(ledger: DataRoot) -> None:
    path = day_path(ledger, 1)
    path.unlink()
    checkpoint_of(ledger, 1).unlink()
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file, problem.line) == (
        "deleted",
        rel(ledger, day_path(ledger, 2)),
        1,
    )
    assert "11..20" in problem.message


def test_a_replaced_checkpoint_has_a_bad_signature(ledger: DataRoot) -> None:
    path = checkpoint_of(ledger, 0)
    doc = json.loads(path.read_bytes())
    doc["checkpoints"][0]["seq"] = 7  # as if the day had ended earlier
    path.write_text(json.dumps(doc))
    problems = run_verify(ledger).problems
    assert [(p.kind, p.file, p.line) for p in problems][:1] == [
        ("bad_signature", rel(ledger, path), 1)
    ]


def test_a_checkpoint_signed_with_another_key_is_refused(ledger: DataRoot) -> None:
    path = checkpoint_of(ledger, 0)
    doc = json.loads(path.read_bytes())
    other = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    raw = other.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    entry = {k: v for k, v in doc["checkpoints"][0].items() if k != "sig"}
    doc["checkpoints"][0] = sign_checkpoint({**entry, "key_id": key_id(raw)}, other)
    path.write_text(json.dumps(doc))
    problems = run_verify(ledger).problems
    first = problems[0]
    assert (first.kind, first.file, first.line) == ("bad_signature", rel(ledger, path), 1)
    assert key_id(raw) in first.message
    # and the day it sealed is now unsealed
    assert ("missing_checkpoint", rel(ledger, day_path(ledger, 0))) in {
        (p.kind, p.file) for p in problems
    }


def test_a_deleted_checkpoint_is_missing(ledger: DataRoot) -> None:
    checkpoint_of(ledger, 1).unlink()
    problem = only(run_verify(ledger).problems)
    assert (problem.kind, problem.file) == ("missing_checkpoint", rel(ledger, day_path(ledger, 1)))


def test_a_day_copied_over_another_breaks_the_chain(ledger: DataRoot) -> None:
    shutil.copy(day_path(ledger, 0), day_path(ledger, 1))
    problems = run_verify(ledger).problems
    first = problems[0]
    assert (first.kind, first.file, first.line) == ("inserted", rel(ledger, day_path(ledger, 1)), 1)


def test_anchors_check_the_chain_still_holds_a_printed_checkpoint(ledger: DataRoot) -> None:
    doc = json.loads(checkpoint_of(ledger, 1).read_bytes())["checkpoints"][-1]
    anchor = f"mimolo-anchor:1:{doc['key_id']}:{doc['seq']}:{doc['hash']}"
    assert run_verify(ledger, anchors=(anchor,)).ok
    wrong = anchor[:-8] + "00000000"
    problem = only(run_verify(ledger, anchors=(wrong,)).problems)
    assert problem.kind == "anchor_mismatch" and problem.seq == doc["seq"]
    assert only(run_verify(ledger, anchors=("nonsense",)).problems).kind == "anchor_mismatch"


def test_a_range_starts_from_the_previous_days_checkpoint(ledger: DataRoot) -> None:
    report = run_verify(ledger, day_from=FIRST_DAY + timedelta(days=1))
    assert report.ok and [d.day for d in report.days] == ["2026-03-02", "2026-03-03"]
    # with the first day's seal gone the range cannot be tied to it, but is not a problem
    path = day_path(ledger, 1)
    lines = lines_of(path)
    lines[0] = lines[0].replace(b'"n":1440', b'"n":1')
    rewrite(path, lines)
    problem = only(run_verify(ledger, day_from=FIRST_DAY + timedelta(days=1)).problems)
    assert (problem.kind, problem.line) == ("edited", 1)


def test_the_quarantine_sha_names_the_torn_bytes(data_root: DataRoot) -> None:
    write_days(data_root, days=1, per_day=3)
    path = day_path(data_root, 0)
    torn = b'{"seq":4,"id":"half'
    with path.open("ab") as fh:
        fh.write(torn)
    write_days(data_root, days=1, per_day=2)  # restart: quarantine, resume, append
    report = run_verify(data_root)
    assert report.ok, report.problems
    doc = json.loads(checkpoint_of(data_root, 0).read_bytes())["checkpoints"]
    resume = [c for c in doc if c["kind"] == "chain_resume"]
    assert resume and resume[0]["seq"] == 3
    assert resume[0]["quarantined"][0]["sha256"] == hashlib.sha256(torn).hexdigest()


@pytest.mark.parametrize("parallel_bytes", [0, 10**12])
def test_parallel_and_sequential_scans_find_the_same(ledger: DataRoot, parallel_bytes: int) -> None:
    assert run_verify(ledger, parallel_bytes=parallel_bytes).ok
    path = day_path(ledger, 2)
    lines = lines_of(path)
    del lines[3]
    rewrite(path, lines)
    problem = only(run_verify(ledger, parallel_bytes=parallel_bytes).problems)
    assert (problem.kind, problem.file, problem.line) == ("deleted", rel(ledger, path), 4)
