"""``mimolo control --team`` in Chromium: two machines' work, the host filter, an invoice
over both, and nothing on offer that changes anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfReader

from mimolo.team.schema import apply_migrations

from ._hosts import SimHost
from ._team_view import day, local_union, make_team, reader_conninfo
from .pg import PgCluster

pytestmark = pytest.mark.browser

BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
DEADLINE_S = 60


class TeamControl:
    """``python -m mimolo control --team`` as a real process, and its sign-in link."""

    def __init__(self, conninfo: str, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mimolo", "control", "--team", conninfo, "--port", "0",
             "--no-open", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.link = ""
        for line in self.proc.stdout:  # the link is the one line on stdout
            if line.startswith("http://127.0.0.1:"):
                self.link = line.strip()
                break
        assert self.link, "mimolo control --team printed no link"
        self.base = self.link.split("/?")[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=DEADLINE_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def hosts(
    pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[SimHost]]:
    admin = pg_cluster.conninfo(pg_cluster.create_database("browser"))
    with psycopg.connect(admin) as conn:
        apply_migrations(conn)
    made = make_team(tmp_path_factory.mktemp("hosts"), admin, [("ws1", "ana"), ("ws2", "ben")])
    return reader_conninfo(admin), made


@pytest.fixture(scope="module")
def served(
    hosts: tuple[str, list[SimHost]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TeamControl]:
    control = TeamControl(hosts[0], tmp_path_factory.mktemp("viewer") / "root")
    try:
        yield control
    finally:
        control.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=BROWSER_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(browser: Browser, served: TeamControl) -> Iterator[Page]:
    """One signed-in page for the module (the printed link signs one browser in, once)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    signed = context.new_page()
    signed.goto(served.link)
    try:
        yield signed
    finally:
        context.close()


def test_the_timeline_shows_both_hosts_and_the_host_filter_narrows_it(
    page: Page, served: TeamControl, hosts: tuple[str, list[SimHost]]
) -> None:
    machines = hosts[1]
    assert page.url.startswith(served.base + "/timeline")
    expect(page.locator("[data-team-view]")).to_contain_text("Team view, read-only")
    expect(page.locator(".mainnav a")).to_have_text(["Evidence", "Timeline", "Reports"])
    page.goto(f"{served.base}/timeline?view=week&group=instance&date=2026-03-04")
    week = local_union(machines, day(0), day(7), group_by_client=False)
    lanes = page.locator("svg.timeline-svg g.lane")
    expect(lanes.first).to_be_visible()
    names = " ".join(page.locator("table.totals").all_inner_texts())
    assert "@ws1" in names and "@ws2" in names
    total = page.locator("table.totals tfoot td").first.inner_text()
    from mimolo.control.context import make_templates

    duration = make_templates().env.filters["duration"]
    assert total == duration(week.total_s)

    page.get_by_label("Host").select_option(label="ws2")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**host={machines[1].host_id}**")
    names = " ".join(page.locator("table.totals").all_inner_texts())
    assert "@ws2" in names and "@ws1" not in names
    only = local_union(machines[1:], day(0), day(7), group_by_client=False)
    assert page.locator("table.totals tfoot td").first.inner_text() == duration(only.total_s)
    page.get_by_role("link", name="Next →").click()  # the filter survives paging
    page.wait_for_url("**date=2026-03-11**")
    assert f"host={machines[1].host_id}" in page.url


def test_evidence_lists_each_hosts_chain(page: Page, served: TeamControl) -> None:
    page.goto(f"{served.base}/evidence?date=2026-03-03")
    expect(page.locator('[data-host-chain="ws1"]')).to_have_attribute(
        "data-chain-status", "verified"
    )
    expect(page.locator('[data-host-chain="ws2"]')).to_be_visible()
    assert page.locator("[data-record]").count() > 0
    expect(page.locator("#derived-title")).to_contain_text("derived")


def test_an_invoice_over_both_hosts(
    page: Page, served: TeamControl, hosts: tuple[str, list[SimHost]]
) -> None:
    page.goto(f"{served.base}/reports")
    assert page.locator("button[data-post], form[data-api]").count() == 0
    assert page.get_by_role("button", name="Evidence pack").count() == 0
    page.get_by_label("From").fill("2026-03-02")
    page.get_by_label("To (inclusive)").fill("2026-03-06")
    page.get_by_label("Report type").select_option("invoice-pdf")
    page.get_by_label("Client").select_option("acme")
    page.get_by_label("Hourly rate").fill("100")
    page.get_by_role("button", name="Generate").click()
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=90_000)
    with page.expect_download() as info:
        link.click()
    text = "".join(p.extract_text() for p in PdfReader(info.value.path()).pages)
    acme = local_union(hosts[1], day(0), day(5), client_id="acme")
    one = local_union(hosts[1][:1], day(0), day(5), client_id="acme")
    assert "acme" in text.lower()
    assert _clock(acme.total_s) in text, (_clock(acme.total_s), text[:2000])
    assert _clock(one.total_s) != _clock(acme.total_s)  # both machines' time, not one's


def _clock(seconds: float) -> str:
    """``H:MM:SS``, as the invoice shows the recorded time."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def test_nothing_that_changes_anything_is_served(page: Page, served: TeamControl) -> None:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=served.base, cookies=cookies, timeout=DEADLINE_S) as client:
        for path in ("/logs", "/packages", "/storage", "/fragments/cards", "/instances/new"):
            assert client.get(path).status_code == 404, path
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        headers = {"X-CSRF-Token": csrf, "Origin": served.base}
        for path in ("/api/monitors/start", "/api/reports/pack", "/api/capture/pause"):
            assert client.post(path, headers=headers).status_code in (404, 405), path
        status = client.get("/api/status").json()
        assert status["team"] is True and status["ops_available"] is False
