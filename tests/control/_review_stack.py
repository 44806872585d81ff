"""A review set-up for Control's browser tests: evidence written by the test on a past
local day in Europe/Berlin, a real ``mimolo ops`` owning the review journals, and helpers
to drag across the review chart at local times."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import Page

from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync

from ._live import LiveControl, OpsProcess, wait_for
from .ledger_files import summary_line, write_ledger

BERLIN = ZoneInfo("Europe/Berlin")
DAY: date = datetime.now(UTC).date() - timedelta(days=20)

CONFIG = """\
[settings]
timezone = "Europe/Berlin"

[review]
currency = "EUR"
default_rate = "80"

[review.clients.acme]
rate = "100"

[review.clients.globex]
rate = "90"
projects = { redesign = "120" }
"""


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A wall-clock time of ``day`` in Berlin, as UTC."""
    return datetime.combine(day, time(hour, minute), BERLIN).astimezone(UTC)


def write_evidence(root: DataRoot) -> None:
    """acme's work 09:00-10:00 and 11:00-11:30 local (one summary a minute): an idle gap
    of an hour between them."""
    lines = [summary_line(i + 1, local(9) + timedelta(minutes=i)) for i in range(60)]
    lines += [summary_line(61 + i, local(11) + timedelta(minutes=i)) for i in range(30)]
    write_ledger(root, local(9), lines)


@contextlib.contextmanager
def review_ops(root: DataRoot) -> Iterator[OpsProcess]:
    root.config_path.write_text(CONFIG, encoding="utf-8")
    os.chmod(root.config_path, 0o600)
    write_evidence(root)
    ops = OpsProcess(root)
    try:
        yield ops.start()
    finally:
        ops.stop()


TIMEOUT_MS = 30_000


def open_signed_in(page: Page, control: LiveControl, path: str) -> Page:
    """Once Control reaches Operations: sign in, then open ``path``."""
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    page.goto(control.signin_url)
    page.goto(f"{control.base}{path}")
    return page


def call(root: DataRoot, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(root.socket_path, cmd, timeout=60.0, **fields)


def x_of(page: Page, moment: datetime) -> float:
    """The page x of ``moment`` on the review chart (from the chart's own geometry)."""
    chart = page.locator("#review-chart")
    box = chart.bounding_box()
    assert box is not None
    attrs = chart.evaluate(
        "(el) => ({start: el.dataset.start, end: el.dataset.end, plotX: el.dataset.plotX,"
        " plotW: el.dataset.plotW, width: el.dataset.width})"
    )
    start = datetime.fromisoformat(attrs["start"])
    end = datetime.fromisoformat(attrs["end"])
    fraction = (moment - start) / (end - start)
    svg_x = float(attrs["plotX"]) + fraction * float(attrs["plotW"])
    return box["x"] + svg_x * box["width"] / float(attrs["width"])


def drag(page: Page, start: datetime, end: datetime) -> None:
    """Press at ``start``, move across, release at ``end`` (the user's drag)."""
    box = page.locator("#review-chart").bounding_box()
    assert box is not None
    y = box["y"] + 40
    page.mouse.move(x_of(page, start), y)
    page.mouse.down()
    page.mouse.move((x_of(page, start) + x_of(page, end)) / 2, y, steps=4)
    page.mouse.move(x_of(page, end), y, steps=4)
    page.mouse.up()


__all__ = ["BERLIN", "CONFIG", "DAY", "call", "drag", "local", "review_ops", "write_evidence"]
