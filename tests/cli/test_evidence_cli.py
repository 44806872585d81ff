"""``mimolo evidence verify|anchor`` on real ledgers, through click's runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from mimolo.cli import cli
from mimolo.dataroot import DataRoot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evidence._ledgers import day_path, write_days


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def ledger(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_days(root, days=2, per_day=4)
    return root


def test_verify_passes_a_clean_ledger_and_names_a_broken_line(tmp_path: Path) -> None:
    root = ledger(tmp_path)
    code, out = run("evidence", "verify", "--data-dir", str(root.root))
    assert code == 0, out
    assert "8 chained records" in out and "ok" in out
    path = day_path(root, 1)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"agent_label":"A"', b'"agent_label":"B"')
    path.write_bytes(b"".join(lines))
    code, out = run("evidence", "verify", "--data-dir", str(root.root))
    assert code == 1
    assert "edited" in out and f"{path.name}:2" in out and "broken at line 2" in out


def test_verify_json_and_the_day_range(tmp_path: Path) -> None:
    root = ledger(tmp_path)
    code, out = run(
        "evidence", "verify", "--from", "2026-03-02", "--json", "--data-dir", str(root.root)
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["ok"] is True and [d["day"] for d in doc["days"]] == ["2026-03-02"]
    code, out = run("evidence", "verify", "--from", "March", "--data-dir", str(root.root))
    assert code == 2 and "not a day" in out


def test_anchor_prints_a_string_that_verify_checks(tmp_path: Path) -> None:
    root = ledger(tmp_path)
    result = CliRunner().invoke(cli, ["evidence", "anchor", "--data-dir", str(root.root)])
    assert result.exit_code == 0
    anchor = result.stdout.strip()
    assert anchor.startswith("mimolo-anchor:1:")
    code, out = run("evidence", "verify", "--anchor", anchor, "--data-dir", str(root.root))
    assert code == 0, out
    forged = anchor[: -len("0000")] + "0000"
    code, out = run("evidence", "verify", "--anchor", forged, "--data-dir", str(root.root))
    assert code == 1 and "anchor_mismatch" in out


def test_anchor_without_checkpoints_says_why(tmp_path: Path) -> None:
    code, out = run("evidence", "anchor", "--data-dir", str(tmp_path / "empty"))
    assert code == 1 and "no signed checkpoint yet" in out
