"""The built-in reporters end to end: real subprocesses, real files, parsed back."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pypdf
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ReportError
from mimolo.reports import run_report
from mimolo.timeline import Timeline

from .conftest import END, START

BASE = {"from": START.isoformat(), "to": END.isoformat()}


def pdf_text(path: str) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


@pytest.mark.anyio
async def test_csv_parses_and_sums_to_the_timeline(data_root: DataRoot, everyone: Timeline) -> None:
    result = await run_report(data_root, "csv", {**BASE, "format": "csv"}, everyone.segments)
    assert result.mime == "text/csv"
    rows = list(csv.DictReader(io.StringIO(Path(result.path).read_text())))
    assert list(rows[0]) == [
        "date",
        "start",
        "end",
        "duration_h",
        "client",
        "instances",
        "project",
        "tags",
        "source",
        "adjustments",
    ]
    assert {r["source"] for r in rows} == {"evidence"} and {r["adjustments"] for r in rows} == {""}
    total_h = sum(float(r["duration_h"]) for r in rows)
    assert abs(total_h * 3600 - everyone.total_s) < 1.0
    per_day: dict[str, float] = {}
    for r in rows:
        per_day[r["date"]] = per_day.get(r["date"], 0.0) + float(r["duration_h"]) * 3600
    for day in everyone.per_day:
        assert abs(per_day[day.day.isoformat()] - day.duration_s) < 1.0
    assert {r["client"] for r in rows} <= {"acme", "globex", "initech"}
    assert all("screen" in r["instances"].split(";") for r in rows)


@pytest.mark.anyio
async def test_invoice_pdf_parses_and_total_matches_timeline(
    data_root: DataRoot, acme: Timeline
) -> None:
    params = {
        **BASE,
        "client_id": "acme",
        "rate": "92.50",
        "currency": "USD",
        "invoice_number": "INV-2026-007",
    }
    progress: list[float] = []
    result = await run_report(
        data_root, "invoice", params, acme.segments, lambda p, m: progress.append(p)
    )
    assert result.mime == "application/pdf"
    assert progress[0] == 0.0 and progress[-1] == 100.0
    text = pdf_text(result.path)
    assert "INV-2026-007" in text and "acme" in text
    cent = Decimal("0.01")
    expected = sum(
        (
            (
                (Decimal(repr(d.duration_s)) / 3600).quantize(cent, ROUND_HALF_UP)
                * Decimal("92.50")
            ).quantize(cent, ROUND_HALF_UP)
            for d in acme.per_day
        ),
        Decimal("0.00"),
    )
    match = re.search(r"Total due: USD ([0-9.]+)", text)
    assert match is not None, text
    assert Decimal(match.group(1)) == expected
    hours = Decimal(re.search(r"Total hours: ([0-9.]+)", text).group(1))  # type: ignore[union-attr]
    assert abs(hours - Decimal(acme.total_s / 3600)) < Decimal("0.05")
    for d in acme.per_day:
        assert d.day.isoformat() in text


@pytest.mark.anyio
async def test_invoice_needs_a_positive_rate(data_root: DataRoot, acme: Timeline) -> None:
    with pytest.raises(ReportError, match="rate") as info:
        await run_report(data_root, "invoice", {**BASE, "rate": "-3"}, acme.segments)
    assert info.value.code == "reporter_error"
    with pytest.raises(ReportError, match="rate"):
        await run_report(data_root, "invoice", BASE, acme.segments)


@pytest.mark.anyio
async def test_timecard_markdown_lists_days_and_total(data_root: DataRoot, acme: Timeline) -> None:
    result = await run_report(
        data_root, "timecard", {**BASE, "format": "md", "client_id": "acme"}, acme.segments
    )
    text = Path(result.path).read_text()
    assert text.startswith("# Timecard")
    assert "Client: acme" in text
    for d in acme.per_day:
        assert f"| **{d.day.isoformat()}** |" in text
    minutes = round(acme.total_s / 60)
    assert f"**{minutes // 60}:{minutes % 60:02d}**" in text


@pytest.mark.anyio
async def test_timecard_html_escapes_evidence_and_pdf_renders(
    data_root: DataRoot, acme: Timeline
) -> None:
    hostile = "<script>alert(1)</script>"
    params = {
        **BASE,
        "format": "html",
        "client_id": hostile,
        "output_path": str(data_root.reports_dir / "t.html"),
    }
    result = await run_report(data_root, "timecard", params, acme.segments)
    html = Path(result.path).read_text()
    assert hostile not in html and "&lt;script&gt;" in html
    pdf = await run_report(data_root, "timecard", {**BASE, "format": "pdf"}, acme.segments)
    text = pdf_text(pdf.path)
    assert "Timecard" in text and date(2026, 3, 2).isoformat() in text


@pytest.mark.anyio
async def test_user_template_copy_takes_precedence(data_root: DataRoot, acme: Timeline) -> None:
    from mimolo.reports.templates import copy_templates

    copy_templates(data_root.templates_dir)
    custom = data_root.templates_dir / "timecard.md.j2"
    custom.write_text("Custom card for {{ client }}: {{ total_s | hours }} h\n")
    result = await run_report(
        data_root, "timecard", {**BASE, "format": "md", "client_id": "acme"}, acme.segments
    )
    assert Path(result.path).read_text() == f"Custom card for acme: {acme.total_s / 3600:.2f} h\n"


@pytest.mark.anyio
async def test_broken_user_template_is_a_clear_error(data_root: DataRoot, acme: Timeline) -> None:
    data_root.templates_dir.mkdir(parents=True, exist_ok=True)
    (data_root.templates_dir / "timecard.md.j2").write_text("{{ no_such_thing }}\n")
    with pytest.raises(ReportError, match=r"user template 'timecard\.md\.j2' failed"):
        await run_report(data_root, "timecard", {**BASE, "format": "md"}, acme.segments)
