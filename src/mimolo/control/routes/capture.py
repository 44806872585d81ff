"""The off-the-record pause in Control: the dashboard's pause/resume controls and banner.

``POST /api/capture/pause`` (form field ``minutes``: 1..1440, or empty for until resumed)
and ``POST /api/capture/resume`` go to Operations (``pause_capture`` / ``resume_capture``,
``via: "control"``); ``GET /fragments/capture`` is the banner and controls, polled by the
dashboard. With Operations down the banner still shows a pause read from its state file.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.forms import read_form
from mimolo.control.responses import json_error, json_ok
from mimolo.errors import IpcError
from mimolo.operations.capture_pause import MAX_MINUTES, load_state, state_path

log = logging.getLogger(__name__)

CHOICES: Final = ((15, "15 minutes"), (30, "30 minutes"), (60, "1 hour"), (None, "Until resumed"))


async def capture_context(request: Request) -> dict[str, Any]:
    """``capture``: the pause in force (``paused``, ``until``, ``remaining_s`` …) and
    ``capture_live`` (False: read from the state file while Operations is down)."""
    state = control_state(request)
    if state.ops.available:
        try:
            status = await state.ops.request("get_status")
        except IpcError as exc:
            log.info("get_status failed: %s", exc)
        else:
            pause = status.get("capture_pause")
            if isinstance(pause, dict):
                return {"capture": pause, "capture_live": True, "capture_choices": CHOICES}
    stored, problem = load_state(state_path(state.data_root))
    view = stored.view(datetime.now(UTC))
    if problem is not None:
        view["problem"] = problem
    return {"capture": view, "capture_live": False, "capture_choices": CHOICES}


async def capture_fragment(request: Request) -> Response:
    """``GET /fragments/capture``: the banner and controls alone."""
    return render(request, "_capture.html", "dashboard", **await capture_context(request))


def _minutes(raw: str) -> int | str | None:
    """The form's ``minutes``: an int, None for until resumed, or why not (a str)."""
    text = raw.strip()
    if not text or text == "until_resumed":
        return None
    if not text.isdigit():
        return f"must be a whole number of minutes (1-{MAX_MINUTES}) or until resumed"
    value = int(text)
    if not 1 <= value <= MAX_MINUTES:
        return f"must be between 1 and {MAX_MINUTES} minutes"
    return value


def _describe(state: dict[str, Any]) -> str:
    if not state.get("paused"):
        return "Recording resumed."
    if state.get("until") is None:
        return "Recording paused until you resume it."
    minutes = round(float(state.get("remaining_s") or 0) / 60)
    return f"Recording paused for {minutes} minutes."


async def pause(request: Request) -> Response:
    """``POST /api/capture/pause``: pause every capturing agent."""
    form = await read_form(request)
    minutes = _minutes(form.get("minutes", ""))
    if isinstance(minutes, str):
        return json_error("invalid_field", f"minutes: {minutes}", key="minutes")
    data = await control_state(request).ops.request("pause_capture", minutes=minutes, via="control")
    return json_ok(message=_describe(data), data=data)


async def resume(request: Request) -> Response:
    """``POST /api/capture/resume``: end the pause now."""
    data = await control_state(request).ops.request("resume_capture", via="control")
    return json_ok(message=_describe(data), data=data)


routes = [
    Route("/fragments/capture", capture_fragment),
    Route("/api/capture/pause", pause, methods=["POST"]),
    Route("/api/capture/resume", resume, methods=["POST"]),
]

__all__ = ["CHOICES", "capture_context", "routes"]
