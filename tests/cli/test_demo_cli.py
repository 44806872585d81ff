"""``mimolo demo-data``: evidence only (never config), and ``--desktop`` for the app lanes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mimolo.cli import cli
from mimolo.dataroot import DataRoot


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def ledger_bytes(root: DataRoot) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.evidence_dir.rglob("*.jsonl")))


def test_demo_writes_evidence_and_no_config(tmp_path: Path) -> None:
    code, out = run("demo-data", "--days", "2", "--end", "2026-03-03", "--data-dir", str(tmp_path))
    assert code == 0, out
    root = DataRoot.resolve(tmp_path)
    assert not root.config_path.exists()  # no synthetic agent will ever run from it
    assert b'"desktop_activity"' not in ledger_bytes(root)


def test_desktop_flag_adds_desktop_activity_summaries(tmp_path: Path) -> None:
    args = ("demo-data", "--days", "2", "--end", "2026-03-03", "--desktop")
    code, out = run(*args, "--data-dir", str(tmp_path / "a"))
    assert code == 0, out
    run(*args, "--data-dir", str(tmp_path / "b"))
    a, b = DataRoot.resolve(tmp_path / "a"), DataRoot.resolve(tmp_path / "b")
    assert b'"plugin_id":"desktop_activity"' in ledger_bytes(a)
    assert ledger_bytes(a) == ledger_bytes(b)
