"""The capture family over the real socket: pause_capture, resume_capture, get_status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ._ops import Ops


@pytest.mark.anyio
async def test_pause_and_resume_answer_the_state_in_force(ops: Ops) -> None:
    status = await ops.ask("get_status")
    assert status["capture_pause"]["paused"] is False
    paused = await ops.ask("pause_capture", minutes=15, via="cli")
    assert paused["paused"] is True and paused["by"] == "cli"
    since, until = (datetime.fromisoformat(paused[k]) for k in ("since", "until"))
    assert until - since == timedelta(minutes=15)
    assert paused["agents"] == {}  # the example agent does not capture anything
    assert (await ops.ask("get_status"))["capture_pause"]["until"] == paused["until"]
    forever = await ops.ask("pause_capture")
    assert forever["until"] is None and forever["since"] == paused["since"]
    assert forever["by"] == "ipc" and forever["remaining_s"] is None
    resumed = await ops.ask("resume_capture", via="control")
    assert resumed["paused"] is False and resumed["since"] is None
    again = await ops.ask("resume_capture")
    assert again["paused"] is False
    await ops.harness.until(lambda: len(ops.audits("resume_capture")) == 1)
    pauses = ops.audits("pause_capture")
    assert [(a["via"], a["minutes"]) for a in pauses] == [("cli", 15), ("ipc", None)]
    (resume,) = ops.audits("resume_capture")
    assert resume["via"] == "control" and resume["since"] == paused["since"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"minutes": 0}, "minutes", "between 1 and 1440"),
        ({"minutes": 99999}, "minutes", "between 1 and 1440"),
        ({"minutes": -1}, "minutes", "between 1 and 1440"),
        ({"minutes": "15"}, "minutes", "int"),
        ({"minutes": 1.5}, "minutes", "int"),
        ({"minutes": True}, "minutes", "int"),
        ({"via": "browser"}, "via", "browser"),
        ({"hours": 1}, "hours", "unknown field"),
    ],
)
async def test_bad_pause_requests_get_a_clear_error(
    ops: Ops, fields: dict[str, Any], field: str, words: str
) -> None:
    error = await ops.refused("pause_capture", **fields)
    assert (error.code, error.field) == ("invalid_field", field)
    assert words in str(error)
    assert (await ops.ask("get_status"))["capture_pause"]["paused"] is False
    assert ops.audits("pause_capture") == []
