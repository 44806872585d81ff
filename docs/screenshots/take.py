"""Take the Control screenshots in this folder (dashboard, evidence, timeline, reports).

Run from the repository root:  .venv/bin/python docs/screenshots/take.py

It builds a throw-away data root with ten days of demo evidence (with a desktop agent's
applications), starts a private X display (Xvfb, openbox and two xterm windows) so the
default desktop_activity instance has a desktop to record, a real Operations (that
instance plus a client folder watcher) and a real Control, and drives headless Debian
Chromium. Everything it starts is stopped again, also on failure.
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
from mimolo.testing import xvfb_display
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
agent_flush_interval_s = 5.0

[instances.desktop]
plugin_id = "desktop_activity"
instance_label = "Desktop activity"

[instances.folders-acme]
plugin_id = "client_folder_activity"
instance_label = "ACME project folder"
client_id = "acme"

[instances.folders-acme.params]
watch_paths = ["{watch}"]
client_name = "ACME Corp"
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
def _process(
    argv: list[str], root: DataRoot, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "MIMOLO_DATA_DIR": str(root.root), **(extra_env or {})}
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
        write_demo(root, DemoSpec(days=10, seed=3, end=today, weekends=True, desktop=True))
        watch = tmp / "acme"
        watch.mkdir()
        root.config_path.write_text(CONFIG.replace("{watch}", str(watch)))
        python = sys.executable
        with contextlib.ExitStack() as stack:
            display = stack.enter_context(xvfb_display(screen="1280x800x24"))
            x_env = {"DISPLAY": display}
            stack.enter_context(_process(["openbox", "--sm-disable"], root, x_env))
            time.sleep(1.0)
            windows = (
                ("Firefox", "Invoice 2026-11 - Mozilla Firefox"),
                ("Code", "acme/site.css - Visual Studio Code"),
            )
            for klass, title in windows:
                xterm = ["xterm", "-class", klass, "-title", title]
                xterm += ["-xrm", "*allowTitleOps: false", "-e", "sleep", "600"]
                stack.enter_context(_process(xterm, root, x_env))
            time.sleep(1.5)  # openbox maps them and gives one the focus
            stack.enter_context(_process([python, "-m", "mimolo", "ops"], root, x_env))
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
                        page.goto(f"{base}/timeline?view=day&group=client&apps=1&date={day}")
                        page.locator("#app-lanes").scroll_into_view_if_needed()
                        _shot(page, "app-lanes")
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
