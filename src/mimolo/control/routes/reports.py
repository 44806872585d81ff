"""The reports view: pick range, client, type, rate; run in the background; download."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.evidence_source import ALL, parse_filters
from mimolo.control.forms import read_form
from mimolo.control.report_issue import issue_invoice, report_choices
from mimolo.control.report_packs import pack_eligible, run_pack_job
from mimolo.control.report_runner import REPORT_KINDS, ReportRequest, list_reports, run_report_job
from mimolo.control.responses import json_error, json_ok, refusal_response
from mimolo.errors import ConfigError
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)

CURRENCY_MAX = 8
PROJECT_MAX = 64


def parse_report_form(form: dict[str, str]) -> ReportRequest:
    """Validate the submitted report form (``ConfigError`` names the field)."""
    kind = form.get("kind", "")
    if kind not in REPORT_KINDS:
        raise ConfigError("pick a report type", field="kind")
    try:
        start = date.fromisoformat(form.get("start", ""))
    except ValueError:
        raise ConfigError("must be a date (YYYY-MM-DD)", field="start") from None
    try:
        end = date.fromisoformat(form.get("end", ""))
    except ValueError:
        raise ConfigError("must be a date (YYYY-MM-DD)", field="end") from None
    if end < start:
        raise ConfigError("must not be before the start date", field="end")
    if (end - start).days > 366:
        raise ConfigError("the range may cover at most one year", field="end")
    client = form.get("client", "").strip()
    if client and not is_slug(client):
        raise ConfigError("must be a client id (a slug)", field="client")
    rate_text = form.get("rate", "").strip() or "0"
    try:
        rate = Decimal(rate_text)
    except InvalidOperation:
        raise ConfigError("must be a number", field="rate") from None
    if not rate.is_finite() or rate < 0 or rate > 100000:
        raise ConfigError("must be between 0 and 100000", field="rate")
    currency = form.get("currency", "").strip().upper() or "EUR"
    if not currency.isascii() or not currency.isalpha() or len(currency) > CURRENCY_MAX:
        raise ConfigError("must be a currency code such as EUR", field="currency")
    if REPORT_KINDS[kind].needs_client and not client:
        raise ConfigError("an invoice is for one client", field="client")
    project = " ".join(form.get("project", "").split())
    if len(project) > PROJECT_MAX or not project.isprintable():
        raise ConfigError(f"at most {PROJECT_MAX} printable characters", field="project")
    if project and not client:
        raise ConfigError("pick the client of this project", field="project")
    if len(currency) != 3:
        raise ConfigError("must be a three-letter currency code such as EUR", field="currency")
    return ReportRequest(
        kind=kind, start=start, end=end, client_id=client or None, rate=str(rate),
        currency=currency, project=project or None,
    )  # fmt: skip


async def reports_page(request: Request) -> Response:
    """``GET /reports``: the form, the known clients, and earlier reports."""
    state = control_state(request)
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    offered = await report_choices(state)
    choices = await asyncio.to_thread(state.evidence.choices) if state.team else None
    return render(
        request,
        "reports.html",
        "reports",
        kinds=REPORT_KINDS,
        clients=offered.clients,
        projects=offered.projects,
        zone=offered.zone,
        start=first.isoformat(),
        end=today.isoformat(),
        existing=list_reports(state.data_root),
        pack_eligible=None if state.team else pack_eligible,
        choices=choices,
        filters=ALL,
    )


async def reports_fragment(request: Request) -> Response:
    """``GET /fragments/reports``: the recent reports list (refreshed by ``app.js``)."""
    state = control_state(request)
    existing = list_reports(state.data_root)
    eligible = None if state.team else pack_eligible  # packs read this machine's ledger
    return render(
        request, "_reports_list.html", "reports", existing=existing, pack_eligible=eligible
    )


async def start_report(request: Request) -> Response:
    """``POST /api/reports``: start a job, answer its id."""
    state = control_state(request)
    form = await read_form(request)
    report = parse_report_form(form)
    if form.get("issue") == "issue" and REPORT_KINDS[report.kind].needs_client and not state.team:
        entry, issued = await issue_invoice(state, report)
        number = entry["number"]
        return json_ok(job_id=issued.job_id, number=number, message=f"Issued invoice {number}.")
    source, filters = state.evidence, parse_filters(form)
    job = state.jobs.submit(
        lambda progress: run_report_job(state.data_root, report, progress, source, filters)
    )
    return json_ok(job_id=job.job_id)


async def start_pack(request: Request) -> Response:
    """``POST /api/reports/pack`` (``name``: an invoice in the reports folder): a pack job."""
    state = control_state(request)
    name = (await read_form(request)).get("name", "")
    path = safe_report_path(state.data_root.reports_dir, name) if pack_eligible(name) else None
    if path is None:
        raise ConfigError("not a generated invoice in the reports folder", field="_form")
    job = state.jobs.submit(lambda progress: run_pack_job(state.data_root, path, progress))
    return json_ok(job_id=job.job_id)


async def report_status(request: Request) -> Response:
    """``GET /api/reports/{job_id}``: progress, then the download link."""
    job = control_state(request).jobs.get(request.path_params["job_id"])
    if job is None:
        return json_error("unknown_job", "no such report job", status=404)
    payload: dict[str, object] = {
        "ok": True,
        "job_id": job.job_id,
        "state": job.state,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
    }
    if job.file_name:
        payload["download"] = f"/reports/download/{job.file_name}"
        payload["file_name"] = job.file_name
    return JSONResponse(payload)


def safe_report_path(reports_dir: Path, name: str) -> Path | None:
    """The file ``name`` directly under ``reports_dir``, or None (no traversal, no links)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        return None
    path = reports_dir / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if path.is_symlink() or not resolved.is_file():
        return None
    if resolved.parent != reports_dir.resolve():
        return None
    return resolved


async def download(request: Request) -> Response:
    """``GET /reports/download/{name}``: the file as an attachment."""
    reports_dir = control_state(request).data_root.reports_dir
    path = safe_report_path(reports_dir, request.path_params["name"])
    if path is None:
        return refusal_response(request.scope, 404, "Not found", "No such report.")
    return FileResponse(path, filename=path.name, content_disposition_type="attachment")


routes = [
    Route("/reports", reports_page),
    Route("/fragments/reports", reports_fragment),
    Route("/api/reports", start_report, methods=["POST"]),
    Route("/api/reports/pack", start_pack, methods=["POST"]),
    Route("/api/reports/{job_id}", report_status),
    Route("/reports/download/{name}", download),
]

__all__ = ["parse_report_form", "routes", "safe_report_path"]
