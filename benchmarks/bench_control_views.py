"""Control's server time for the timeline week view and the evidence day view with a
year of data (issue 18; DESIGN §12: p95 < 100 ms).

A year of demo evidence (bench_review's: three folder agents, a passive screen and the
desktop agent, a summary every few seconds; about two million summaries) under a config
of 200 rules in Europe/Berlin, with 5,000 adjustments and an issued invoice in the review
journals. The real Control app (Operations absent) answers a signed-in client through
httpx's ASGI transport, in process and without a socket, so the time is the server's:
the middleware (auth, CSRF, headers), reading the config and journals, the reviewed week,
the SVG and the templates. Each page is fetched once to warm the day cache (as a
person's first visit does), then timed; p95 of the samples.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import tomlkit

from benchmarks._core import BenchContext, Figure, Measured, below, log
from benchmarks.bench_review import (
    ADJUSTMENTS,
    END_DAY,
    RULES,
    make_adjustments,
    make_rules,
    write_year,
)
from mimolo.control import Auth, create_app
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.protocol.review import BillingFigures, InvoiceEntry
from mimolo.timeline.review_io import adjustments_path, invoices_path

TARGET_MS = 100.0
BASE = "http://127.0.0.1:8765"  # Host and port as Control's host check expects
SAMPLES = 40


def _no_nulls(value: Any) -> Any:
    """TOML has no null: drop ``None`` members (the config's defaults)."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_no_nulls(v) for v in value]
    return value


def write_config(root: DataRoot) -> None:
    review = {"rules": msgspec.to_builtins(make_rules(RULES)), "currency": "EUR"}
    doc = {"settings": {"timezone": "Europe/Berlin"}, "review": _no_nulls(review)}
    root.config_path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.chmod(root.config_path, 0o600)


def write_journals(root: DataRoot, adjustments: int, first: date, days: int) -> None:
    ensure_private_dir(adjustments_path(root).parent)
    lines = [msgspec.json.encode(a) for a in make_adjustments(adjustments, first, days)]
    adjustments_path(root).write_bytes(b"\n".join(lines) + b"\n")
    figures = BillingFigures(
        recorded_active_s=0, idle_removed_s=0, idle_kept_s=0, manual_added_s=0, excluded_s=0,
        rounding_delta_s=0, billable_s=0, hours="0", rate="100", currency="EUR", amount="0",
        rounding="none", rounding_minutes=6,
    )  # fmt: skip
    month = datetime(END_DAY.year, END_DAY.month, 1, tzinfo=UTC)
    entry = InvoiceEntry(
        id="b" * 32, seq=1, kind="issued", author="bench", created_at=month, number="2026-0001",
        year=2026, client_id="acme", start=month - timedelta(days=30), end=month,
        timezone="Europe/Berlin", figures=figures,
    )  # fmt: skip
    invoices_path(root).write_bytes(msgspec.json.encode(entry) + b"\n")
    for path in (adjustments_path(root), invoices_path(root)):
        os.chmod(path, 0o600)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def time_page(client: httpx.AsyncClient, url: str, samples: int) -> Measured:
    """p95 (ms) of ``samples`` GETs of ``url``, after one that warms the caches."""
    assert (await client.get(url)).status_code == 200
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await client.get(url)
        times.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200
    return Measured(median=p95(times), samples=times)


async def measure(root: DataRoot, week_day: date, samples: int) -> tuple[Measured, Measured]:
    """The two pages' p95, signed in as a browser would be."""
    auth = Auth()
    app = create_app(root, auth=auth)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        signed = await client.get(f"/?token={auth.new_link_token()}")
        assert signed.status_code == 303, signed.status_code
        week = await time_page(client, f"/timeline?view=week&date={week_day}", samples)
        day = await time_page(client, f"/evidence?date={week_day}", samples)
    return week, day


def run(ctx: BenchContext) -> list[Figure]:
    root, stats, days = write_year(ctx, "control-views")
    first = END_DAY - timedelta(days=days - 1)
    n_adjust = ctx.scale(full=ADJUSTMENTS, quick=ADJUSTMENTS * 30 // 365)
    write_config(root)
    write_journals(root, n_adjust, first, days)
    week_day = END_DAY - timedelta(days=10)
    scope = (
        f"{stats.summaries:,} summaries over {days} days; {RULES} rules, {n_adjust:,} "
        f"adjustments, 1 issued invoice; zone Europe/Berlin; in-process ASGI"
    )
    log(scope)
    samples = ctx.scale(full=SAMPLES, quick=10)
    week, day = asyncio.run(measure(root, week_day, samples))
    full = not ctx.quick
    note = "" if full else " (quick mode: 30 days, the target applies to a year)"
    return [
        week.figure(
            "Control timeline week view (reviewed), server time p95",
            "ms",
            target=f"< {TARGET_MS:g} ms" if full else "",
            verdict=below(week.median, TARGET_MS) if full else "info",
            notes=scope + "; the review panel included (chart, segments, idle gaps, "
            "adjustments, locks, totals)" + note,
        ),
        day.figure(
            "Control evidence day view, server time p95",
            "ms",
            target=f"< {TARGET_MS:g} ms" if full else "",
            verdict=below(day.median, TARGET_MS) if full else "info",
            notes=scope + note,
        ),
    ]
