"""Evidence packs end to end: a real ledger, a real invoice, a real pack, verified by the
pack's own verifier in a clean venv that has nothing but ``cryptography``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from evidence._packs import (
    DAY0,
    TIMEOUT_S,
    Invoice,
    extract_verifier,
    read_members,
    run_verifier,
    write_members,
    write_mixed_ledger,
)
from mimolo.dataroot import DataRoot
from mimolo.errors import EvidencePackError
from mimolo.evidence.pack import build_pack
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.evidence.verify_pack import verify_pack
from mimolo.protocol import chain
from mimolo.reports.documents import html_to_pdf
from mimolo.reports.invoice import TOTALS_ATTACHMENT
from mimolo.reports.runner import run_report_sync


@pytest.fixture
def invoice(data_root: DataRoot) -> Invoice:
    write_mixed_ledger(data_root)
    return Invoice(data_root, DAY0 + timedelta(days=1), DAY0 + timedelta(days=2))


@pytest.fixture
def pack(invoice: Invoice, tmp_path: Path) -> Path:
    return invoice.pack(tmp_path / "out" / "pack.zip")


def test_a_clean_pack_verifies_in_a_clean_venv(
    pack: Path, clean_python: Path, tmp_path: Path
) -> None:
    done = run_verifier(clean_python, pack, tmp_path / "recipient")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK: invoice INV-7 for acme: 2.00 h, EUR 185.00")
    assert (pack.stat().st_mode & 0o777) == 0o600


def test_the_pack_holds_full_lines_only_for_the_invoiced_records(pack: Path) -> None:
    members = read_members(pack)
    assert next(iter(members)) == "manifest.json"
    manifest = json.loads(members["manifest.json"])
    assert manifest["invoice"]["hours"] == "2.00" and manifest["invoice"]["amount"] == "185.00"
    assert manifest["adjustments"]["applied"] == []
    # the day before the period: its checkpoint ties the first line's prev to a signature
    assert "evidence/2026/20260301.checkpoint.json" in members
    assert "evidence/2026/20260301.evidence.jsonl" not in members
    full = redacted = 0
    for day in ("20260302", "20260303"):
        for line in members[f"evidence/2026/{day}.evidence.jsonl"].splitlines():
            link = chain.parse_link(line)
            assert link is not None
            if link.redacted:
                redacted += 1
                assert b"globex" not in line
            else:
                full += 1
                assert b'"globex"' not in line
    # acme: 12 records a day; screen (passive, attached): 3 a day; globex: redacted
    assert (full, redacted) == (30, 24)
    segments = json.loads(members["segments.json"])["segments"]
    assert [len(s["seqs"]) for s in segments] == [12, 12]
    assert [len(s["attached_seqs"]) for s in segments] == [3, 3]
    assert {"verify/verify_pack.py", "verify/verify.py", "verify/chain.py"} <= set(members)
    assert "v/bin/python verify/verify_pack.py pack.zip" in members["README.txt"].decode()


def _pdf_with(totals: dict[str, object]) -> bytes:
    body = json.dumps(totals).encode()
    return html_to_pdf("<p>Invoice</p>", attachments={TOTALS_ATTACHMENT: body})


def test_a_pdf_total_that_disagrees_with_the_records_is_reported(
    pack: Path, clean_python: Path, tmp_path: Path
) -> None:
    members = read_members(pack)
    totals = pdf_invoice_totals(members["invoice.pdf"])
    members["invoice.pdf"] = _pdf_with({**totals, "amount": "285.00"})
    bad = write_members(tmp_path / "bad.zip", members)
    done = run_verifier(clean_python, bad, tmp_path / "recipient")
    assert done.returncode == 1
    assert "DIFFERS: invoice.pdf: amount 285.00 but the records give 185.00" in done.stdout
    assert "manifest:" not in done.stdout  # the manifest still agrees with the records


def test_a_manifest_total_that_disagrees_is_reported(pack: Path, tmp_path: Path) -> None:
    members = read_members(pack)
    manifest = json.loads(members["manifest.json"])
    manifest["invoice"]["hours"] = "3.00"
    members["manifest.json"] = json.dumps(manifest).encode()
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert outcome.problems == ["manifest: hours 3.00 but the records give 2.00"]


def _edit_line(
    members: dict[str, bytes], name: str, pick: bytes, change: tuple[bytes, bytes]
) -> None:
    lines = members[name].split(b"\n")
    index = next(i for i, line in enumerate(lines) if pick in line)
    lines[index] = lines[index].replace(*change, 1)
    members[name] = b"\n".join(lines)


def test_a_tampered_record_in_the_pack_is_edited(
    pack: Path, clean_python: Path, tmp_path: Path
) -> None:
    members = read_members(pack)
    name = "evidence/2026/20260302.evidence.jsonl"
    _edit_line(members, name, b'"work-acme"', (b"T09:05:00Z", b"T08:05:00Z"))
    done = run_verifier(clean_python, write_members(tmp_path / "bad.zip", members), tmp_path / "r")
    assert done.returncode == 1
    assert "DIFFERS: chain: edited at evidence/2026/20260302.evidence.jsonl:" in done.stdout
    # the edited record no longer counts: the figures differ too
    assert "is not in the pack as a full, verifying line" in done.stdout


def test_a_removed_redacted_link_is_deleted(pack: Path, tmp_path: Path) -> None:
    members = read_members(pack)
    name = "evidence/2026/20260303.evidence.jsonl"
    lines = members[name].split(b"\n")
    index = next(i for i, line in enumerate(lines) if b'"digest"' in line and i > 3)
    del lines[index]
    members[name] = b"\n".join(lines)
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members))
    assert any(p.startswith(f"chain: deleted at {name}:{index + 1}:") for p in outcome.problems), (
        outcome.problems
    )


def test_a_member_whose_hash_differs_is_reported(
    pack: Path, clean_python: Path, tmp_path: Path
) -> None:
    members = read_members(pack)
    members["segments.json"] = members["segments.json"].replace(
        b'"summary_count"', b'"x":1,"summary_count"', 1
    )
    bad = write_members(tmp_path / "bad.zip", members, rehash=False)
    done = run_verifier(clean_python, bad, tmp_path / "recipient")
    assert done.returncode == 1
    assert "DIFFERS: member segments.json: its sha256 differs from the manifest" in done.stdout


def test_an_added_or_missing_member_is_reported(pack: Path, tmp_path: Path) -> None:
    members = read_members(pack)
    del members["artifacts.json"]
    members["extra.txt"] = b"hello"
    outcome = verify_pack(write_members(tmp_path / "bad.zip", members, rehash=False))
    assert (
        "member artifacts.json: listed in the manifest but missing from the pack"
        in outcome.problems
    )
    assert "member extra.txt: in the pack but not listed in the manifest" in outcome.problems


def _zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "evidence/../../x", "a\\b"])
def test_hostile_member_names_are_refused(name: str, tmp_path: Path) -> None:
    bad = _zip(tmp_path / "bad.zip", [("manifest.json", b"{}"), (name, b"x")])
    with pytest.raises(ValueError, match="refused member name"):
        verify_pack(bad)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_huge_members_and_zip_bombs_are_refused(clean_python: Path, tmp_path: Path) -> None:
    big = _zip(tmp_path / "big.zip", [("manifest.json", os.urandom(4096))])
    with pytest.raises(ValueError, match="cap 1024"):
        verify_pack(big, limits={"member": 1024})
    bomb = _zip(tmp_path / "bomb.zip", [("manifest.json", bytes(64 * 1024 * 1024))])
    done = run_verifier_on(clean_python, bomb, tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("REFUSED: member 'manifest.json' expands")
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK nothing")
    with pytest.raises(ValueError, match="not a readable zip"):
        verify_pack(not_zip)


def run_verifier_on(python: Path, pack: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The verifier of a good pack run against another (hostile) zip."""
    invoice_root = DataRoot.resolve(tmp_path / "other").ensure()
    write_mixed_ledger(invoice_root, days=2)
    good = Invoice(invoice_root, DAY0 + timedelta(days=1), DAY0 + timedelta(days=1))
    script = extract_verifier(good.pack(tmp_path / "good.zip"), tmp_path / "recipient")
    return subprocess.run(
        [str(python), str(script), str(pack)],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip


def test_the_builder_refuses_evidence_that_does_not_verify(invoice: Invoice) -> None:
    path = invoice.root.evidence_file(DAY0 + timedelta(days=2))
    lines = path.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if b'"work-globex"' in line)
    lines[index] = lines[index].replace(b"globex", b"globez", 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EvidencePackError) as caught:
        build_pack(invoice.source())
    assert caught.value.code == "pack_does_not_verify"
    assert "chain: edited at evidence/2026/20260303.evidence.jsonl:" in caught.value.message


def test_the_builder_refuses_a_pdf_that_is_not_this_invoice(invoice: Invoice) -> None:
    params = {"from": invoice.window[0].isoformat(), "to": invoice.window[1].isoformat(),
              "format": "pdf"}  # fmt: skip
    timecard = run_report_sync(invoice.root, "timecard", params, invoice.segments)
    with pytest.raises(EvidencePackError) as caught:
        build_pack(invoice.source(pdf=Path(timecard.path).read_bytes()))
    assert caught.value.code == "pack_not_invoice"
    totals = pdf_invoice_totals(invoice.pdf_path.read_bytes())
    with pytest.raises(EvidencePackError) as other:
        build_pack(invoice.source(pdf=_pdf_with({**totals, "hours": "9.00"})))
    assert other.value.code == "pack_totals_mismatch"


def test_cli_writes_and_checks_a_pack(data_root: DataRoot, tmp_path: Path) -> None:
    write_mixed_ledger(data_root)
    env = {**os.environ, "COLUMNS": "200"}
    common = ["--data-dir", str(data_root.root)]
    run = [sys.executable, "-m", "mimolo"]
    done = subprocess.run(
        [*run, "report", "invoice", *common, "--from", "2026-03-02", "--to", "2026-03-03",
         "--client", "acme", "--rate", "92.50", "--evidence-pack"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    packed = data_root.reports_dir / "invoice-acme-20260302-20260303.evidence.zip"
    checked = subprocess.run(
        [*run, "evidence", "pack-verify", str(packed)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the CLI's invoices are reviewed ones (in the system's zone here): a review pack
    assert checked.stdout.startswith(
        "OK: invoice 20260303-ACME (draft) for acme: 2.00 h, EUR 185.00 in "
    )
    html = subprocess.run(
        [*run, "report", "invoice", *common, "--from", "2026-03-02", "--client", "acme",
         "--rate", "5", "--format", "html", "--evidence-pack", str(tmp_path / "p.zip")],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert html.returncode == 2 and "needs the PDF invoice" in html.stderr
