"""The Storage view: artifact usage per instance, archives, restore and the two-step purge.

Control never touches artifact files itself: every action is one Operations command
(``get_artifact_inventory``, ``list_instance_archives``, ``archive_instance_artifacts``,
``restore_instance_archive``, ``plan_instance_purge``, ``execute_instance_purge``). The
actions are ``POST /fragments/storage/...`` forms answered with the HTML of the next
step (``static/storage.js`` swaps it in); a refusal answers JSON, shown in the form. An
expired or unknown purge plan is not an error to the user but a step: it says so and
offers to plan the same range again.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control import ops_data
from mimolo.control.context import control_state, render
from mimolo.control.forms import read_form
from mimolo.control.svg_storage import UsageRow, human_bytes, render_usage_svg, usage_row
from mimolo.errors import InvalidField, IpcError, RemoteError

log = logging.getLogger(__name__)

ON_CONFLICT: Final = ("report", "keep_existing", "overwrite")
REPLAN_CODES: Final = frozenset({"purge_plan_expired", "purge_plan_unknown"})


def day_bound(text: str, name: str, *, end: bool) -> str | None:
    """A form's ``YYYY-MM-DD`` as the UTC instant IPC takes: the day's start, or for an
    end the next day's start (so the range includes the whole last day); None if empty."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidField(name, f"{text!r} is not a day (YYYY-MM-DD)") from None
    moment = datetime.combine(day + timedelta(days=1 if end else 0), datetime.min.time(), UTC)
    return moment.isoformat().replace("+00:00", "Z")


def range_of(form: dict[str, str]) -> dict[str, str]:
    """``start`` / ``end`` for IPC, only those given; refused when the end is first."""
    out = {}
    start = day_bound(form.get("start", ""), "start", end=False)
    stop = day_bound(form.get("end", ""), "end", end=True)
    if start is not None:
        out["start"] = start
    if stop is not None:
        out["end"] = stop
    if start is not None and stop is not None and stop <= start:
        raise InvalidField("end", "the last day comes before the first")
    return out


def instance_of(form: dict[str, str]) -> str:
    value = form.get("instance_id", "").strip()
    if not value:
        raise InvalidField("instance_id", "choose an instance")
    return value


def _label(instance: dict[str, Any], iid: str) -> str:
    return str(instance.get("instance_label") or instance.get("label") or iid)


async def usage(request: Request) -> tuple[list[UsageRow], dict[str, dict[str, Any]], str]:
    """Every instance's inventory (an instance whose inventory fails shows its error)."""
    ops = control_state(request).ops
    instances = ops_data.instances(await ops.request("get_agent_instances"))
    rows: list[UsageRow] = []
    inventories: dict[str, dict[str, Any]] = {}
    for iid in sorted(instances):
        try:
            inventory = await ops.request("get_artifact_inventory", instance_id=iid)
        except RemoteError as exc:
            inventory = {"error": f"{exc.message} [{exc.code}]"}
        inventories[iid] = {**inventory, "label": _label(instances[iid], iid)}
        rows.append(usage_row(iid, _label(instances[iid], iid), inventory))
    return rows, inventories, render_usage_svg(rows)


async def storage_page(request: Request) -> Response:
    """``GET /storage[?instance=ID]``: usage of every instance and one instance's actions."""
    state = control_state(request)
    context: dict[str, Any] = {"size": human_bytes, "rows": [], "inventories": {}, "svg": ""}
    if not state.ops.available:
        return render(request, "storage.html", "storage", selected=None, **context)
    try:
        context["rows"], context["inventories"], context["svg"] = await usage(request)
    except IpcError as exc:
        log.info("storage usage failed: %s", exc)
        return render(request, "storage.html", "storage", selected=None, **context)
    wanted = request.query_params.get("instance")
    ids = [row.instance_id for row in context["rows"]]
    selected = wanted if wanted in ids else (ids[0] if ids else None)
    archives = await _archives(request, selected) if selected else []
    today = datetime.now(UTC).date().isoformat()
    return render(
        request,
        "storage.html",
        "storage",
        selected=selected,
        archives=archives,
        today=today,
        **context,
    )


async def usage_fragment(request: Request) -> Response:
    """``GET /fragments/storage/usage``: the chart and table alone (polled)."""
    rows, inventories, svg = await usage(request)
    selected = request.query_params.get("instance")
    return render(
        request,
        "_storage_usage.html",
        "storage",
        rows=rows,
        inventories=inventories,
        svg=svg,
        size=human_bytes,
        selected=selected,
    )


async def _archives(request: Request, instance_id: str) -> list[dict[str, Any]]:
    data = await control_state(request).ops.request(
        "list_instance_archives", instance_id=instance_id
    )
    items = data.get("archives") or []
    return sorted(
        (a for a in items if isinstance(a, dict)),
        key=lambda a: str(a.get("created") or ""),
        reverse=True,
    )


async def archive(request: Request) -> Response:
    """``POST /fragments/storage/archive``: archive a range, answer the new archive list."""
    form = await read_form(request)
    iid = instance_of(form)
    data = await control_state(request).ops.request(
        "archive_instance_artifacts", instance_id=iid, **range_of(form)
    )
    return render(
        request,
        "_storage_archives.html",
        "storage",
        selected=iid,
        archives=await _archives(request, iid),
        made=data.get("archive") or {},
        verified=bool(data.get("verified")),
        size=human_bytes,
    )


async def restore(request: Request) -> Response:
    """``POST /fragments/storage/restore``: restore an archive; conflicts are shown with
    the choice to keep the existing files or overwrite them."""
    form = await read_form(request)
    iid = instance_of(form)
    archive_id = form.get("archive_id", "").strip()
    if not archive_id:
        raise InvalidField("archive_id", "choose an archive")
    on_conflict = form.get("on_conflict", "report")
    if on_conflict not in ON_CONFLICT:
        raise InvalidField("on_conflict", f"one of {', '.join(ON_CONFLICT)}")
    data = await control_state(request).ops.request(
        "restore_instance_archive",
        instance_id=iid,
        archive_id=archive_id,
        on_conflict=on_conflict,
    )
    return render(
        request,
        "_storage_restore.html",
        "storage",
        selected=iid,
        archive_id=archive_id,
        on_conflict=on_conflict,
        result=data,
    )


async def purge_plan(request: Request) -> Response:
    """``POST /fragments/storage/purge/plan``: step 1, the plan and the archive choice."""
    form = await read_form(request)
    iid = instance_of(form)
    data = await control_state(request).ops.request(
        "plan_instance_purge", instance_id=iid, **range_of(form)
    )
    return render(
        request,
        "_storage_purge_plan.html",
        "storage",
        selected=iid,
        plan=data,
        form_start=form.get("start", ""),
        form_end=form.get("end", ""),
        size=human_bytes,
    )


def archive_decision(form: dict[str, str]) -> dict[str, str]:
    """The radio's ``create_archive`` / ``decline_archive`` / ``use_existing_archive:<id>``."""
    choice = form.get("archive_choice", "").strip()
    action, _, archive_id = choice.partition(":")
    if action == "use_existing_archive" and archive_id:
        return {"action": action, "archive_id": archive_id}
    if action in ("create_archive", "decline_archive") and not archive_id:
        return {"action": action}
    raise InvalidField(
        "archive_choice", "choose to archive first, use an existing archive, or decline"
    )


async def purge_execute(request: Request) -> Response:
    """``POST /fragments/storage/purge/execute``: step 2, with the user's confirmation."""
    form = await read_form(request)
    iid = instance_of(form)
    decision = archive_decision(form)
    try:
        data = await control_state(request).ops.request(
            "execute_instance_purge",
            plan_id=form.get("plan_id", ""),
            confirm=form.get("confirm") == "yes",
            archive_decision=decision,
        )
    except RemoteError as exc:
        if exc.code not in REPLAN_CODES:
            raise
        return render(
            request,
            "_storage_purge_expired.html",
            "storage",
            selected=iid,
            code=exc.code,
            message=exc.message,
            form_start=form.get("start", ""),
            form_end=form.get("end", ""),
        )
    return render(
        request,
        "_storage_purge_done.html",
        "storage",
        selected=iid,
        result=data,
        decision=decision,
        size=human_bytes,
    )


routes = [
    Route("/storage", storage_page),
    Route("/fragments/storage/usage", usage_fragment),
    Route("/fragments/storage/archive", archive, methods=["POST"]),
    Route("/fragments/storage/restore", restore, methods=["POST"]),
    Route("/fragments/storage/purge/plan", purge_plan, methods=["POST"]),
    Route("/fragments/storage/purge/execute", purge_execute, methods=["POST"]),
]

__all__ = ["archive_decision", "day_bound", "range_of", "routes"]
