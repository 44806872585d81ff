"""Views over HTTP without Operations: escaping, bad input, read-only fallbacks, report jobs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from mimolo.control.report_jobs import Progress, ReportJobs
from mimolo.errors import ReportError

from ._live import LiveControl
from .ledger_files import summary_line, write_ledger

DAY = datetime(2026, 4, 7, tzinfo=UTC)
XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _post(
    control: LiveControl,
    path: str,
    *,
    data: dict[str, str] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, object]]:
    with control.client() as client:
        token = control.csrf_token(client)
        sent = {"Origin": control.base, "X-CSRF-Token": token, **(headers or {})}
        response = client.post(path, headers=sent, data=data, content=content)
    return response.status_code, response.json()


def test_evidence_is_escaped_and_kept_raw(control: LiveControl) -> None:
    line = summary_line(1, DAY + timedelta(hours=9), extra={"note": XSS})
    write_ledger(control.root, DAY, [line])
    with control.client() as client:
        html = client.get("/evidence?date=2026-04-07").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html
    # the raw line is there byte for byte once unescaped
    shown = html.replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">")
    shown = shown.replace("&#39;", "'").replace("&amp;", "&")
    assert line.decode().rstrip("\n") in shown


def test_diagnostics_files_are_shown_escaped_when_operations_is_down(
    control: LiveControl,
) -> None:
    today = datetime.now(UTC).date()
    record = {"ts": f"{today}T08:00:00Z", "kind": "log", "instance_id": "x",
              "level": "error", "message": XSS}  # fmt: skip
    control.root.diagnostics_file(today).write_text(json.dumps(record) + "\n")
    with control.client() as client:
        html = client.get("/logs?level=debug").text
    assert "diagnostics files on disk" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_timeline_of_an_empty_range_says_so(control: LiveControl) -> None:
    with control.client() as client:
        html = client.get("/timeline?date=1999-01-01&view=week").text
    assert "No work segments in this range." in html


@pytest.mark.parametrize("query", ["date=garbage", "date=2026-13-45", "view=<x>&group=<y>"])
def test_malformed_queries_fall_back_to_defaults(control: LiveControl, query: str) -> None:
    with control.client() as client:
        for path in ("/timeline", "/evidence", "/logs"):
            assert client.get(f"{path}?{query}").status_code == 200


def test_an_oversized_form_is_refused_clearly(control: LiveControl) -> None:
    status, body = _post(control, "/api/reports", content=b"a=" + b"x" * 70_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert status == 400
    assert "larger than" in str(body["message"])


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"\xff\xfe=1", "application/x-www-form-urlencoded"), (b"{nope", "application/json"),
     (b"[1, 2]", "application/json")],
)  # fmt: skip
def test_undecodable_bodies_are_refused_clearly(
    control: LiveControl, content: bytes, content_type: str
) -> None:
    status, body = _post(
        control, "/api/reports", content=content, headers={"Content-Type": content_type}
    )
    assert status == 400
    assert body["ok"] is False and body["key"] == "_form"


def test_a_report_form_error_names_its_field(control: LiveControl) -> None:
    status, body = _post(
        control,
        "/api/reports",
        data={"kind": "csv", "start": "2026-04-07", "end": "2026-04-01", "rate": "0"},
    )
    assert status == 400
    assert body["key"] == "end"
    assert body["message"] == "Must not be before the start date"


def test_a_report_job_runs_to_a_download(control: LiveControl) -> None:
    write_ledger(control.root, DAY, [summary_line(i, DAY + timedelta(hours=10, minutes=i))
                                     for i in range(30)])  # fmt: skip
    status, body = _post(
        control,
        "/api/reports",
        data={"kind": "timecard-md", "start": "2026-04-07", "end": "2026-04-07", "rate": "0"},
    )
    assert status == 200
    job_id = body["job_id"]
    with control.client() as client:
        for _ in range(300):
            job = client.get(f"/api/reports/{job_id}").json()
            if job["state"] != "running":
                break
            time.sleep(0.1)
        assert job["state"] == "done", job
        download = client.get(str(job["download"]))
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment")
        assert "acme" in download.text
        assert client.get("/api/reports/nope").status_code == 404


@pytest.mark.anyio
async def test_report_jobs_record_success_progress_and_failure(tmp_path: Path) -> None:
    jobs = ReportJobs()
    target = tmp_path / "out.csv"

    async def good(progress: Progress) -> Path:
        progress(0.5, "half way")
        target.write_text("x")
        return target

    async def bad(progress: Progress) -> Path:
        raise ReportError("the reporter printed garbage", code="reporter_garbage")

    async def crash(progress: Progress) -> Path:
        raise RuntimeError("boom")

    ok, failed, crashed = jobs.submit(good), jobs.submit(bad), jobs.submit(crash)
    with anyio.fail_after(10):
        while any(j.state == "running" for j in (ok, failed, crashed)):
            await anyio.sleep(0.01)
    assert (ok.state, ok.file_name, ok.progress) == ("done", "out.csv", 1.0)
    assert (failed.state, failed.error) == ("failed", "the reporter printed garbage")
    assert crashed.state == "failed" and crashed.error == "RuntimeError: boom"
    await jobs.aclose()


@pytest.mark.anyio
async def test_closing_cancels_running_jobs() -> None:
    jobs = ReportJobs()
    started = anyio.Event()

    async def forever(progress: Progress) -> Path:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    job = jobs.submit(forever)
    with anyio.fail_after(10):
        await started.wait()
        await jobs.aclose()
    assert job.state == "running"  # cancelled, never reported as done
