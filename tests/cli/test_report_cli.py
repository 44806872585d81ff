"""``mimolo report`` through click's runner: real reporter subprocesses, temp data root."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from mimolo.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def seed(root: Path) -> None:
    code, out = run(
        "demo-data", "--days", "2", "--seed", "5", "--end", "2026-03-03", "--data-dir", str(root)
    )
    assert code == 0, out


def test_csv_report_to_explicit_path(tmp_path: Path) -> None:
    seed(tmp_path)
    out_file = tmp_path / "out" / "hours.csv"
    code, out = run(
        "report",
        "csv",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--client",
        "globex",
        "--out",
        str(out_file),
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    assert "Wrote" in out and "hours.csv" in out
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert rows and {r["client"] for r in rows} == {"globex"}


def test_timecard_default_location(tmp_path: Path) -> None:
    seed(tmp_path)
    code, out = run(
        "report",
        "timecard",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--format",
        "md",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0, out
    written = tmp_path / "control" / "reports" / "timecard-all-20260302-20260303.md"
    assert written.read_text().startswith("# Timecard")


def test_invoice_errors_are_clear(tmp_path: Path) -> None:
    seed(tmp_path)
    code, out = run(
        "report",
        "invoice",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 1 and "no hourly rate" in out and "invoice_invalid" in out
    code, out = run(
        "report",
        "invoice",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--rate",
        "abc",
        "--format",
        "html",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 1 and "not a number" in out and "config_invalid" in out
    code, out = run("report", "csv", "--format", "pdf", "--data-dir", str(tmp_path))
    assert code == 2


def test_templates_list_and_copy(tmp_path: Path) -> None:
    code, out = run("report", "templates", "--data-dir", str(tmp_path))
    assert code == 0 and "invoice.html.j2" in out and "builtin" in out and "user" not in out
    code, out = run("report", "templates", "--copy", "--data-dir", str(tmp_path))
    assert code == 0 and "Copied 6 templates" in out
    copied = tmp_path / "control" / "templates" / "invoice.html.j2"
    assert copied.is_file() and (copied.stat().st_mode & 0o777) == 0o600
    copied.write_text("mine")
    code, out = run("report", "templates", "--copy", "--data-dir", str(tmp_path))
    assert "Copied 0 templates" in out and copied.read_text() == "mine"
    assert "user" in out
