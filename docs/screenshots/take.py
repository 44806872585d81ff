"""Take the Control screenshots in this folder (dashboard, evidence, timeline, reports).

Run from the repository root:  .venv/bin/python docs/screenshots/take.py

It builds a throw-away data root with a week of demo evidence, starts a real Operations
(two agent_example instances) and a real Control, and drives headless Debian Chromium.
Everything it starts is stopped again, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync
from mimolo.timeline.demo import DemoSpec, write_demo

OUT = Path(__file__).resolve().parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONFIG = """\
[settings]
heartbeat_interval_s = 2.0

[instances.example-acme]
plugin_id = "agent_example"
instance_label = "Acme design work"
client_id = "acme"

[instances.example-acme.params]
mode = "active"
activity_probability = 0.9

[instances.example-context]
plugin_id = "agent_example"
instance_label = "Context sampler"

[instances.example-context.params]
mode = "passive"
"""


def _wait(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def _ops_up(root: DataRoot) -> bool:
    try:
        request_sync(root.socket_path, "ping", timeout=2.0)
    except (IpcError, OSError):
        return False
    return True


@contextlib.contextmanager
def _process(argv: list[str], root: DataRoot) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "MIMOLO_DATA_DIR": str(root.root)}
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _shot(page: Page, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"wrote {OUT / name}.png")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mshot-", dir="/tmp"))
    try:
        root = DataRoot.resolve(tmp / "root").ensure()
        today = datetime.now(UTC).date()
        write_demo(root, DemoSpec(days=10, seed=3, end=today, weekends=True))
        root.config_path.write_text(CONFIG)
        python = sys.executable
        with _process([python, "-m", "mimolo", "ops"], root):
            _wait(lambda: _ops_up(root), "Operations")
            with _process(
                [python, "-m", "mimolo", "control", "--port", "0", "--no-open"], root
            ) as control:
                assert control.stdout is not None
                url = control.stdout.readline().strip()
                base = url.split("?")[0].rstrip("/")
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                    try:
                        page = browser.new_page(viewport={"width": 1280, "height": 860})
                        page.goto(url)
                        page.locator('article[data-state="running"]').first.wait_for()
                        page.wait_for_timeout(4000)  # a few heartbeats for the metrics
                        _shot(page, "dashboard")
                        day = today.isoformat()
                        page.goto(f"{base}/evidence?date={day}&from=09:00&to=11:00")
                        _shot(page, "evidence")
                        page.goto(f"{base}/timeline?view=week&group=client&date={day}")
                        _shot(page, "timeline")
                        page.goto(f"{base}/reports")
                        page.get_by_label("Report type").select_option("timecard-pdf")
                        page.get_by_role("button", name="Generate").click()
                        page.locator("#report-download").wait_for(timeout=90_000)
                        _shot(page, "reports")
                    finally:
                        browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
