"""The rules editor: the ordered categorization rules, edited in place, with live counts.

``GET /rules`` shows the rules from Operations' config (read from disk, so the page works
while Operations is down). ``POST /api/rules/catch`` answers how much time each rule, as
typed, catches in the current local week (``rule_catch``; nothing is saved), so the page
updates the counts while the user edits. ``POST /api/rules`` saves through Operations
(``set_rules``), which checks and writes the config and answers what it wrote.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.forms import read_form
from mimolo.control.responses import json_error, json_ok
from mimolo.control.review_data import review_config, view_window
from mimolo.control.review_view import known_clients, known_projects
from mimolo.control.routes.evidence import parse_day
from mimolo.control.rules_editor import parse_default, parse_rules, rules_payload
from mimolo.control.svg_chart import hours_minutes
from mimolo.errors import IpcError, MimoloError, RulesInvalid
from mimolo.timeline.rules import DEFAULT_CATCH, rule_catch

log = logging.getLogger(__name__)


async def rules_page(request: Request) -> Response:
    """``GET /rules[?date=YYYY-MM-DD]``: the editor; counts are for that day's local week."""
    state = control_state(request)
    config = await asyncio.to_thread(review_config, state.data_root)
    day = parse_day(request.query_params.get("date"), datetime.now(config.zone).date())
    start, end = view_window("week", day, config.zone)
    settings = config.settings
    return render(
        request,
        "rules.html",
        "rules",
        rules=[msgspec.to_builtins(r) for r in settings.rules],
        default=msgspec.to_builtins(settings.default),
        clients=known_clients(settings, config.instance_clients),
        projects=known_projects(settings),
        zone=str(config.zone),
        day=day.isoformat(),
        week_start=start.astimezone(config.zone),
        week_last=(end - timedelta(seconds=1)).astimezone(config.zone),
        warnings=config.warnings,
    )


def _refused(exc: MimoloError) -> Response:
    """A refusal shown on the row and key at fault (``rules[2].match.title``)."""
    return json_error(exc.code, exc.message, key=exc.field or "rules")


async def rules_catch(request: Request) -> Response:
    """``POST /api/rules/catch`` (``rules``, ``default``: JSON; ``date``): seconds per rule."""
    state = control_state(request)
    form = await read_form(request)
    try:
        rules, default = parse_rules(form.get("rules", "")), parse_default(form.get("default", ""))
    except RulesInvalid as exc:
        return _refused(exc)
    config = await asyncio.to_thread(review_config, state.data_root)
    day = parse_day(form.get("date"), datetime.now(config.zone).date())
    start, end = view_window("week", day, config.zone)
    catch = await asyncio.to_thread(
        rule_catch, state.data_root, start, end, config.policy, rules, config.zone,
        default=default,
    )  # fmt: skip
    counts: dict[str, Any] = {
        key: {"seconds": secs, "text": hours_minutes(secs)} for key, secs in catch.items()
    }
    return json_ok(catch=counts, default_key=DEFAULT_CATCH, zone=str(config.zone))


async def save_rules(request: Request) -> Response:
    """``POST /api/rules`` (``rules``, ``default``: JSON): write them through Operations."""
    form = await read_form(request)
    try:
        rules, default = parse_rules(form.get("rules", "")), parse_default(form.get("default", ""))
    except RulesInvalid as exc:
        return _refused(exc)
    ops = control_state(request).ops
    try:
        data = await ops.request("set_rules", **rules_payload(rules, default), via="control")
    except IpcError as exc:
        if exc.code != RulesInvalid.code:
            raise
        return _refused(exc)
    saved = data.get("rules", [])
    return json_ok(message=f"Saved {len(saved)} rule(s).", data=data)


routes = [
    Route("/rules", rules_page),
    Route("/api/rules/catch", rules_catch, methods=["POST"]),
    Route("/api/rules", save_rules, methods=["POST"]),
]

__all__ = ["routes"]
