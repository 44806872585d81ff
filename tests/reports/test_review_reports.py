"""Reports over the reviewed timeline, end to end: real config, journals, evidence files
and reporter subprocesses, in Europe/Berlin across the spring DST day."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ReportError
from mimolo.evidence.pack_open import pdf_invoice_totals
from mimolo.reports import run_report
from mimolo.reports.prepare import Prepared, ReportAsk, prepare_report
from mimolo.reports.window import day_window
from mimolo.timeline.review_io import invoices_path
from mimolo.timeline.zones import resolve_zone

from ._review_root import add_adjustment, work, write_config, write_evidence

BERLIN = resolve_zone("Europe/Berlin")
CONFIG = """\
[settings]
timezone = "Europe/Berlin"
cooldown_s = 600

[review]
currency = "EUR"
rounding = "{rounding}"
rounding_minutes = {minutes}
seller = "Jo Doe Studio"
default_rate = "50"

[review.clients.acme]
rate = "90"
bill_to = "ACME Corp, 1 Road"

[review.clients.acme.projects]
web = "120"

[[review.rules]]
rule_id = "web-work"
[review.rules.match]
instance_id = "browser*"
[review.rules.assign]
client_id = "acme"
project = "web"
tags = ["online"]
"""


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_config(root, CONFIG.format(rounding="none", minutes=6))
    write_evidence(
        root,
        [
            *work("editor", local(27, 9), 120, client="acme"),  # 2 h, no project
            *work("browser-1", local(27, 14), 60, client="acme"),  # 1 h, the rule: web
            *work("editor", local(29, 1), 120, client="acme"),  # 01:00-04:00 local: 2 h
            *work("editor", local(28, 10), 90, client="globex"),
        ],
    )
    add_adjustment(root, "manual_entry", local(27, 16), local(27, 17), client="acme",
                   project="meeting")  # fmt: skip
    add_adjustment(root, "exclude_range", local(27, 10), local(27, 10, 30))
    return root


def ask(kind: str, **extra: object) -> ReportAsk:
    start, end = day_window(datetime(2026, 3, 27).date(), datetime(2026, 3, 29).date(), BERLIN)
    return ReportAsk(kind=kind, start=start, end=end, **extra)  # type: ignore[arg-type]


async def generate(root: DataRoot, kind: str, fmt: str, prepared: Prepared) -> Path:
    params = {**prepared.params, "format": fmt}
    result = await run_report(root, kind, params, prepared.segments, review=prepared.review)
    return Path(result.path)


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def derivation(markdown: str) -> dict[str, int]:
    """The printed derivation steps, signed, by label."""
    section = markdown.split("## How the billable time was derived", 1)[1]
    out = {}
    for label, value in re.findall(
        r"^\| \**([=+\u2212] [^|*]+?)\**\s*\| \**([0-9:]+)\**", section, re.M
    ):
        sign = -1 if label.startswith("\u2212") else 1
        out[label[2:]] = sign * hms(value)
    return out  # fmt: skip


@pytest.mark.anyio
async def test_timecard_names_its_zone_and_shows_workings_that_add_up(root: DataRoot) -> None:
    prepared = prepare_report(root, ask("timecard", client_id="acme"))
    text = (await generate(root, "timecard", "md", prepared)).read_text()
    assert "(time zone Europe/Berlin)" in text and "local days in Europe/Berlin" in text
    steps = derivation(text)
    assert steps["Recorded active time"] == 5 * 3600
    assert steps["Manual additions"] == 3600 and steps["Exclusions"] == -1800
    assert steps["Billable time"] == sum(v for k, v in steps.items() if k != "Billable time")
    assert steps["Billable time"] == 5 * 3600 + 1800
    # the DST night: 01:00 to 04:00 local is two hours of work on one local day
    assert "| 2026-03-29 | 01:00 | 04:00 | 2:00 | acme |" in text
    assert "| acme | web [online] | evidence | browser-1 |" in text
    assert "| acme | meeting | manual (adjusted) |" in text
    assert "| acme/web | 1:00 |" in text and "| acme/meeting | 1:00 |" in text
    assert "| acme (no project) | 3:30 |" in text


@pytest.mark.anyio
async def test_csv_has_project_tags_source_and_adjustments(root: DataRoot) -> None:
    prepared = prepare_report(root, ask("csv"))
    rows = list(
        csv.DictReader(io.StringIO((await generate(root, "csv", "csv", prepared)).read_text()))
    )
    assert list(rows[0])[-4:] == ["project", "tags", "source", "adjustments"]
    by_project = {r["project"]: r for r in rows if r["project"]}
    assert by_project["web"]["tags"] == "online" and by_project["web"]["source"] == "evidence"
    manual = by_project["meeting"]
    assert manual["source"] == "manual" and len(manual["adjustments"]) == 32
    assert {r["date"] for r in rows} == {"2026-03-27", "2026-03-28", "2026-03-29"}
    assert {r["client"] for r in rows} == {"acme", "globex"}
    total_h = sum(float(r["duration_h"]) for r in rows)
    assert abs(total_h - (5.5 + 1.5)) < 1e-6  # 5:30 of acme's, 1:30 of globex's
    assert all(r["start"].endswith("Z") for r in rows)


@pytest.mark.anyio
async def test_draft_invoice_is_marked_and_records_nothing(root: DataRoot) -> None:
    prepared = prepare_report(root, ask("invoice", client_id="acme", project="web"))
    assert prepared.params["rate"] == "120" and prepared.params["bill_to"] == "ACME Corp, 1 Road"
    pdf = await generate(root, "invoice", "pdf", prepared)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "DRAFT" in text and "ACME Corp, 1 Road" in text and "Jo Doe Studio" in text
    assert "Europe/Berlin" in text and "How the billable time was derived" in text
    totals = pdf_invoice_totals(pdf.read_bytes())
    assert totals["status"] == "draft" and totals["number"] == "20260329-ACME"
    assert (totals["hours"], totals["amount"], totals["rate"]) == ("1.00", "120.00", "120")
    assert totals["timezone"] == "Europe/Berlin" and totals["project"] == "web"
    assert not invoices_path(root).exists()  # a draft is never recorded


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("rounding", "minutes", "hours", "label"),
    [
        ("none", 6, "5.50", "Rounding (none)"),
        # entries of 1:00, 0:30, 1:00, 1:00 and 2:00 each up to 45 min: 7:30
        ("entry", 45, "7.50", "Rounding (each entry up to 45 min)"),
        # days of 3:30 and 2:00 each up to the hour: 6:00
        ("day", 60, "6.00", "Rounding (each day up to 60 min)"),
        # 5:30 up to 20 min: 5:40
        ("invoice", 20, "5.67", "Rounding (the total up to 20 min)"),
    ],
)
async def test_rounding_modes_show_in_the_derivation(
    root: DataRoot, rounding: str, minutes: int, hours: str, label: str
) -> None:
    write_config(root, CONFIG.format(rounding=rounding, minutes=minutes))
    prepared = prepare_report(root, ask("invoice", client_id="acme"))
    figures = prepared.review.figures
    assert figures is not None and figures.hours == hours and figures.rate == "90"
    html = (await generate(root, "invoice", "html", prepared)).read_text()
    assert label in html
    assert f"Total hours: {hours}" in html
    assert f"Total due: EUR {Decimal(hours) * 90:.2f}" in html


def test_bad_input_gets_its_own_error(root: DataRoot) -> None:
    with pytest.raises(ReportError) as caught:
        prepare_report(root, ask("invoice", client_id="acmee"))
    assert caught.value.code == "report_client_unknown"
    with pytest.raises(ReportError) as caught:
        day_window(datetime(2026, 3, 29).date(), datetime(2026, 3, 27).date(), BERLIN)
    assert caught.value.code == "report_range_invalid"
    write_config(
        root, CONFIG.format(rounding="none", minutes=6).replace('default_rate = "50"\n', "")
    )
    prepare_report(root, ask("invoice", client_id="acme"))  # the client's own rate
    with pytest.raises(Exception, match="no hourly rate"):
        prepare_report(root, ask("invoice", client_id="globex"))
    json.dumps(prepare_report(root, ask("timecard", client_id="globex")).params)
