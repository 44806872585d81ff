"""Evidence packs of invoices over the reviewed timeline: a Berlin invoice with rounding per
entry, a manual entry, an exclusion and a kept idle gap; real chained ledger, journals
written by Operations' ReviewJournal, PDFs from the report pipeline, verified by the pack's
own verifier in a clean venv (only ``cryptography``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from evidence._packs import TIMEOUT_S, read_members, run_verifier, write_members
from evidence._review_packs import (
    CONFIG,
    LATER_RULE,
    adjust,
    draft_invoice,
    issue_invoice,
    local,
    pack_of,
    write_config,
    write_ledger,
    write_review,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import EvidencePackError
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.evidence.verify_pack import verify_pack
from mimolo.protocol.review import Adjustment


@pytest.fixture
def reviewed(data_root: DataRoot) -> dict[str, Adjustment]:
    write_config(data_root)
    write_ledger(data_root)
    return write_review(data_root)


@pytest.fixture
def pack(reviewed: dict[str, Adjustment], data_root: DataRoot, tmp_path: Path) -> Path:
    return pack_of(data_root, draft_invoice(data_root), tmp_path / "out" / "pack.zip")


def test_a_berlin_invoice_with_adjustments_and_rounding_verifies_in_a_clean_venv(
    pack: Path, reviewed: dict[str, Adjustment], clean_python: Path, tmp_path: Path
) -> None:
    done = run_verifier(clean_python, pack, tmp_path / "recipient")
    assert done.returncode == 0, done.stdout + done.stderr
    # 50 min -> 60, kept idle 40 -> 45, 30 + 15 after the exclusion, 60 after midnight, 60
    # manual: 4.50 h at 90
    assert done.stdout.startswith(
        "OK: invoice 20260311-ACME (draft) for acme: 4.50 h, EUR 405.00 in Europe/Berlin "
        "(rounding entry, 3 adjustment(s))"
    )
    members = read_members(pack)
    manifest = json.loads(members["manifest.json"])
    assert manifest["pack_version"] == 2
    figures = manifest["invoice"]["figures"]
    terms = ("recorded_active_s", "excluded_s", "idle_kept_s", "manual_added_s", "billable_s")
    assert [figures[k] for k in terms] == [10200, 900, 2400, 3600, 16200]
    # local days: the work at 00:20 Berlin is the 11th's, though on the UTC day before
    assert figures["per_day"] == {"2026-03-10": 9000.0, "2026-03-11": 7200.0}
    assert set(manifest["adjustments"]["applied"]) == {a.id for a in reviewed.values()}
    assert len(members["review/adjustments.jsonl"].splitlines()) == 3
    segments = json.loads(members["segments.json"])
    assert [s["source"] for s in segments["segments"]] == [
        "evidence", "idle_kept", "evidence", "evidence", "evidence", "manual",
    ]  # fmt: skip
    assert [s["removed"] for s in segments["removed"]] == ["excluded"]
    # the exclusion cut one derived segment in two: three derived segments under five pieces
    assert len(segments["derived"]) == 3
    assert {"verify/verify_review.py", "verify/billing_rounding.py"} <= set(members)


def test_the_journal_lines_are_verbatim(pack: Path, data_root: DataRoot) -> None:
    members = read_members(pack)
    journal = (data_root.operations_dir / "review" / "adjustments.jsonl").read_bytes()
    assert members["review/adjustments.jsonl"] == journal


def _without_line(members: dict[str, bytes], name: str, needle: str) -> None:
    lines = [ln for ln in members[name].splitlines() if needle.encode() not in ln]
    members[name] = b"".join(ln + b"\n" for ln in lines)


def test_a_pack_without_the_manual_entry_is_reported(
    pack: Path, reviewed: dict[str, Adjustment], clean_python: Path, tmp_path: Path
) -> None:
    manual = reviewed["manual"].id
    members = read_members(pack)
    _without_line(members, "review/adjustments.jsonl", manual)
    done = run_verifier(clean_python, write_members(tmp_path / "bad.zip", members), tmp_path / "r")
    assert done.returncode == 1
    assert f"DIFFERS: segment 6 (manual, 2026-03-11T13:00:00Z): adjustment {manual} is not in " \
        "the pack" in done.stdout  # fmt: skip
    assert "no manual_entry in effect in the pack holds this manual time" in done.stdout


def test_an_edited_adjustment_is_reported(
    pack: Path, reviewed: dict[str, Adjustment], tmp_path: Path
) -> None:
    members = read_members(pack)
    name = "review/adjustments.jsonl"
    # the meeting said to end at 14:30, not 15:00 (Berlin)
    members[name] = members[name].replace(
        b'"end":"2026-03-11T14:00:00Z"', b'"end":"2026-03-11T13:30:00Z"'
    )
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert outcome.problems == [
        "segment 6 (manual, 2026-03-11T13:00:00Z): no manual_entry in effect in the pack "
        "holds this manual time"
    ]
    members = read_members(pack)
    members[name] = members[name].replace(b'"kind":"exclude_range"', b'"kind":"assign_range"')
    outcome = verify_pack(write_members(tmp_path / "bad2.zip", members))
    assert outcome.problems == [
        "removed 1 (evidence, 2026-03-10T10:00:00Z): no exclude_range in effect in the pack "
        "holds this excluded time"
    ]


def test_a_revoke_line_added_to_the_pack_is_reported(
    pack: Path, reviewed: dict[str, Adjustment], tmp_path: Path
) -> None:
    excluded = reviewed["exclude"]
    members = read_members(pack)
    revoke = {"id": "f" * 32, "seq": 99, "kind": "revoke", "reason": "x", "author": "x",
              "created_at": "2026-03-12T00:00:00Z", "revokes": excluded.id}  # fmt: skip
    members["review/adjustments.jsonl"] += json.dumps(revoke).encode() + b"\n"
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert (
        f"removed 1 (evidence, 2026-03-10T10:00:00Z): adjustment {excluded.id} was revoked "
        f"(by {'f' * 32})" in outcome.problems
    )


def test_figures_that_do_not_add_up_are_reported(pack: Path, tmp_path: Path) -> None:
    members = read_members(pack)
    manifest = json.loads(members["manifest.json"])
    manifest["invoice"]["figures"]["manual_added_s"] = 3000.0
    members["manifest.json"] = json.dumps(manifest).encode()
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert outcome.problems == [
        "manifest: manual_added_s 3000.0 but the segments give 3600.0",
        "manifest: the figures do not add up: recorded - idle + kept + manual - excluded + "
        "rounding = 15600.0, not billable_s 16200.0",
    ]


def test_a_manual_segment_made_longer_is_reported(pack: Path, tmp_path: Path) -> None:
    members = read_members(pack)
    doc = json.loads(members["segments.json"])
    manual = doc["segments"][5]
    manual["end"], manual["duration_s"] = "2026-03-11T14:30:00Z", 5400.0
    members["segments.json"] = json.dumps(doc).encode()
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert (
        "segment 6 (manual, 2026-03-11T13:00:00Z): no manual_entry in effect in the pack holds "
        "this manual time" in outcome.problems
    )
    assert "manifest: manual_added_s 3600.0 but the segments give 5400.0" in outcome.problems
    assert "invoice.pdf: hours 4.50 but the records give 5.00" in outcome.problems


def test_an_evidence_piece_cut_where_nothing_explains_it_is_reported(
    pack: Path, tmp_path: Path
) -> None:
    members = read_members(pack)
    doc = json.loads(members["segments.json"])
    first = doc["segments"][0]
    first["start"], first["duration_s"] = "2026-03-10T08:10:00Z", 2400.0
    members["segments.json"] = json.dumps(doc).encode()
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert (
        "segment 1: its start 2026-03-10T08:10:00Z cuts its evidence where no adjustment, "
        "invoice period or other segment explains it" in outcome.problems
    )


def test_the_builder_refuses_a_draft_the_review_no_longer_gives(
    reviewed: dict[str, Adjustment], data_root: DataRoot, tmp_path: Path
) -> None:
    pdf = draft_invoice(data_root)
    adjust(data_root, "exclude_range", local(10, 9), local(10, 9, 30))
    with pytest.raises(EvidencePackError) as caught:
        pack_of(data_root, pdf, tmp_path / "p.zip")
    assert caught.value.code == "pack_totals_mismatch"
    assert "regenerate the invoice" in caught.value.message
    assert not (tmp_path / "p.zip").exists()


def test_an_issued_invoice_packs_its_locked_figures_after_a_later_rule(
    reviewed: dict[str, Adjustment], data_root: DataRoot, clean_python: Path, tmp_path: Path
) -> None:
    entry, pdf = issue_invoice(data_root)
    write_config(data_root, CONFIG + LATER_RULE)  # recategorizes acme's editor work
    adjust(data_root, "manual_entry", local(12, 9), local(12, 10), "acme")  # after the range
    again = pdf.read_bytes()
    packed = pack_of(data_root, pdf, tmp_path / "issued.zip")
    done = run_verifier(clean_python, packed, tmp_path / "recipient")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(
        f"OK: invoice {entry.number} (issued) for acme: 4.50 h, EUR 405.00 in Europe/Berlin"
    )
    members = read_members(packed)
    manifest = json.loads(members["manifest.json"])
    assert manifest["invoice"]["invoice_id"] == entry.id
    assert manifest["invoice"]["inputs_hash"] == entry.inputs_hash
    # packed with the rules the entry kept and the adjustments made until its issue: the
    # inputs are exactly the issue's, whatever was configured since
    assert manifest["review"]["inputs_hash_matches"] is True
    assert members["invoice.pdf"] == again
    segments = json.loads(members["segments.json"])["segments"]
    assert {s["locked_by"] for s in segments} == {entry.id}
    entry_lines = members["review/invoices.jsonl"].splitlines()
    assert [json.loads(x)["id"] for x in entry_lines] == [entry.id]


def test_a_draft_over_an_issued_period_adds_its_locked_figures(
    reviewed: dict[str, Adjustment], data_root: DataRoot, tmp_path: Path
) -> None:
    entry, _ = issue_invoice(data_root)  # the 10th and 11th
    adjust(data_root, "manual_entry", local(12, 9), local(12, 10), "acme")
    later = date(2026, 3, 12)
    packed = pack_of(data_root, draft_invoice(data_root, later), tmp_path / "p.zip", later)
    outcome = verify_pack(packed)
    assert outcome.ok, outcome.problems
    assert (outcome.figures["hours"], outcome.figures["amount"]) == ("5.50", "495.00")
    entries = read_members(packed)["review/invoices.jsonl"].splitlines()
    assert [json.loads(x)["id"] for x in entries] == [entry.id]


def test_an_issued_invoice_whose_time_a_later_rule_moved_away_packs_its_own_rules(
    reviewed: dict[str, Adjustment], data_root: DataRoot, tmp_path: Path
) -> None:
    entry, pdf = issue_invoice(data_root)
    assert entry.default is not None  # the entry keeps the rules it was billed under
    moved = LATER_RULE.replace('project = "design"', 'client_id = "globex"')
    write_config(data_root, CONFIG + moved)  # today's rules give acme's time to globex
    packed = pack_of(data_root, pdf, tmp_path / "p.zip")
    outcome = verify_pack(packed)
    assert outcome.ok, outcome.problems
    assert (outcome.figures["hours"], outcome.figures["amount"]) == ("4.50", "405.00")
    rules = json.loads(read_members(packed)["review/rules.json"])["rules"]
    assert all(r.get("assign", {}).get("client_id") != "globex" for r in rules)


def test_an_entry_from_before_rules_were_kept_is_refused_when_they_moved_its_time(
    reviewed: dict[str, Adjustment], data_root: DataRoot, tmp_path: Path
) -> None:
    entry, pdf = issue_invoice(data_root, keep_rules=False)
    assert entry.default is None
    moved = LATER_RULE.replace('project = "design"', 'client_id = "globex"')
    write_config(data_root, CONFIG + moved)
    with pytest.raises(EvidencePackError) as caught:
        pack_of(data_root, pdf, tmp_path / "p.zip")
    assert caught.value.code == "pack_totals_mismatch"
    assert f"invoice {entry.number} locked figures" in caught.value.message
    assert pdf_invoice_totals(pdf.read_bytes())["number"] == entry.number


def test_cli_packs_a_reviewed_invoice(reviewed: dict[str, Adjustment], data_root: DataRoot) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    run = [sys.executable, "-m", "mimolo"]
    done = subprocess.run(
        [*run, "report", "invoice", "--data-dir", str(data_root.root), "--from", "2026-03-10",
         "--to", "2026-03-11", "--client", "acme", "--evidence-pack"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    packed = data_root.reports_dir / "invoice-acme-20260310-20260311.evidence.zip"
    checked = subprocess.run(
        [*run, "evidence", "pack-verify", str(packed)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "for acme: 4.50 h, EUR 405.00 in Europe/Berlin" in checked.stdout
    nobody = subprocess.run(
        [*run, "report", "invoice", "--data-dir", str(data_root.root), "--from", "2026-03-10",
         "--evidence-pack"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert nobody.returncode == 2 and "one client's invoice" in nobody.stderr
