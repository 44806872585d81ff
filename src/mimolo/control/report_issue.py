"""The Reports form's review side: the clients and projects it offers, and issuing.

Known clients are the ones Operations accepts (``settings.review.clients``, the rules'
assignments, the instances' clients, the evidence of the last year); known projects are
the per-project rates, the rules' and the timeline's. A draft invoice is only a file;
issuing goes through Operations (``issue_invoice``: the number, the lock, the audit
record) and then prints the issued entry's locked figures (the reports pipeline's
``run_issued_report_job``), so the PDF is exactly what was recorded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import msgspec

from mimolo.control.context import ControlState
from mimolo.control.report_jobs import ReportJob
from mimolo.control.report_runner import ReportRequest, prepare_local, run_issued_report_job
from mimolo.control.review_data import review_config
from mimolo.control.review_view import known_clients, known_projects
from mimolo.reports.prepare import load_settings
from mimolo.reports.window import day_window
from mimolo.slugs import is_slug

EVIDENCE_LOOKBACK: Final = timedelta(days=366)
"""How much evidence the offered clients come from (as much as Operations looks at)."""


class ReportChoices(msgspec.Struct, frozen=True, kw_only=True):
    """What the form offers, and the zone its days are cut in."""

    clients: list[str]
    projects: list[str]
    zone: str


def _lookback(newest: date) -> tuple[datetime, datetime]:
    """The year of evidence the offered clients come from, up to its newest day."""
    end = datetime.combine(newest + timedelta(days=1), time(), UTC)
    return end - EVIDENCE_LOOKBACK, end


_CLIENTS_SEEN: dict[tuple[object, ...], list[str]] = {}


def _evidence_clients(state: ControlState, newest: date) -> list[str]:
    """The clients of this machine's recent evidence, derived again only when a ledger file
    changed (the Reports page asks on every load; a year's timeline is not free)."""
    files = sorted(state.data_root.evidence_dir.glob("[0-9][0-9][0-9][0-9]/*.evidence.jsonl"))
    stats = [(p.name, p.stat()) for p in files]
    key: tuple[object, ...] = (
        state.data_root.root,
        newest,
        tuple((name, st.st_size, st.st_mtime_ns) for name, st in stats),
    )
    known = _CLIENTS_SEEN.get(key)
    if known is None:
        recent = state.evidence.load_timeline(*_lookback(newest))
        known = [c for s in recent.timeline.segments for c in s.client_ids]
        _CLIENTS_SEEN.clear()  # one data root per Control: keep only the newest answer
        _CLIENTS_SEEN[key] = known
    return known


def _recent_choices(state: ControlState) -> ReportChoices:
    """Clients and projects of this machine's config and of the year of evidence up to
    its newest day (so a pause of months still offers the clients worked for)."""
    config = review_config(state.data_root)
    newest = state.evidence.newest_day()
    evidence = _evidence_clients(state, newest) if newest is not None else []
    return ReportChoices(
        clients=known_clients(config.settings, evidence, config.instance_clients),
        projects=known_projects(config.settings),
        zone=str(config.zone),
    )


def _team_choices(state: ControlState) -> ReportChoices:
    """The team store's clients: its filter's, and those of the year of evidence up to
    the store's newest day."""
    newest = state.evidence.newest_day() or datetime.now(UTC).date()
    recent = state.evidence.load_timeline(*_lookback(newest))
    clients = set(state.evidence.choices().clients) | set(recent.timeline.per_client)
    return ReportChoices(clients=sorted(c for c in clients if is_slug(c)), projects=[], zone="UTC")


async def report_choices(state: ControlState) -> ReportChoices:
    """What the form offers (the team view: the team store's clients, UTC days)."""
    if state.team:
        return await asyncio.to_thread(_team_choices, state)
    return await asyncio.to_thread(_recent_choices, state)


async def issue_invoice(
    state: ControlState, report: ReportRequest
) -> tuple[dict[str, Any], ReportJob]:
    """Check the invoice as a draft would be, have Operations issue it, then print the
    issued entry; answers the entry and the printing job."""
    root = state.data_root
    draft = await asyncio.to_thread(prepare_local, root, report)  # refusals before anything is sent
    zone = (await asyncio.to_thread(load_settings, root)).zone
    start, end = day_window(report.start, report.end, zone)
    answer = await state.ops.request(
        "issue_invoice",
        client_id=report.client_id,
        project=report.project,
        start=start.isoformat(),
        end=end.isoformat(),
        rate=draft.params.get("rate"),
        currency=draft.params.get("currency"),
        via="control",
    )
    entry: dict[str, Any] = answer["invoice"]
    number = str(entry["number"])
    job = state.jobs.submit(lambda progress: run_issued_report_job(root, number, progress))
    return entry, job


__all__ = [
    "EVIDENCE_LOOKBACK",
    "ReportChoices",
    "issue_invoice",
    "report_choices",
]
