"""A first run on a headless machine, end to end: ``mimolo up`` on a fresh data root with no
display and no session bus prints its sign-in link, and in Chromium the one default
instance (desktop_activity) is running but degraded, its card saying why."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync
from mimolo.operations.config import DEFAULT_INSTANCE_ID

from ._live import DEADLINE_S, short_data_root, wait_for

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
LINK = re.compile(r"^http://127\.0\.0\.1:\d+/\?token=\S+$")


def headless_env(root: DataRoot, runtime_dir: Path) -> dict[str, str]:
    """This environment without any display or session bus (an empty runtime dir, so no
    bus socket is found there either)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    }
    env.update({ENV_DATA_DIR: str(root.root), "XDG_RUNTIME_DIR": str(runtime_dir)})
    env["COLUMNS"] = "200"
    return env


class Up:
    """``python -m mimolo up --no-open --port 0`` and the Operations it starts."""

    def __init__(self, root: DataRoot, env: dict[str, str]) -> None:
        self.root = root
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mimolo", "up", "--no-open", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def link(self) -> str:
        wait_for(
            lambda: any(LINK.match(line) for line in self.lines) or self.proc.poll() is not None,
            "mimolo up to print its sign-in link",
            timeout=DEADLINE_S * 2,
        )
        found = [line for line in self.lines if LINK.match(line)]
        assert found, "\n".join(self.lines)
        return found[0]

    def ops_pid(self) -> int | None:
        for line in self.lines:
            match = re.search(r"Operations is running \(pid (\d+)\)", line)
            if match:
                return int(match.group(1))
        return None

    def stop(self) -> None:
        """Control: SIGTERM its group; Operations (its own session): shut down over the
        socket, SIGKILL by its pid only if it does not go."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        pid = self.ops_pid()
        if pid is None:
            return
        with contextlib.suppress(IpcError, OSError):
            request_sync(self.root.socket_path, "shutdown_operations", timeout=5.0)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


@pytest.fixture
def first_run() -> Iterator[tuple[Up, DataRoot]]:
    with short_data_root() as root, tempfile.TemporaryDirectory(dir="/tmp") as runtime_dir:
        os.chmod(runtime_dir, 0o700)
        assert not root.config_path.exists()
        up = Up(root, headless_env(root, Path(runtime_dir)))
        try:
            yield up, root
        finally:
            up.stop()


def test_headless_first_run_prints_the_link_and_the_card_says_why(
    page: Page, first_run: tuple[Up, DataRoot]
) -> None:
    up, root = first_run
    link = up.link()
    assert "Operations is running" in "\n".join(up.lines)
    page.goto(link)
    assert "token=" not in page.url
    cards = page.locator("article[data-instance]")
    expect(cards).to_have_count(1, timeout=TIMEOUT_MS)  # the default: one instance, no examples
    card = page.locator(f'article[data-instance="{DEFAULT_INSTANCE_ID}"]')
    expect(card).to_have_attribute("data-state", "running", timeout=TIMEOUT_MS)
    expect(card.locator(".card-title")).to_have_text("Desktop activity")
    expect(card.locator('[data-field="health"]')).to_have_text("degraded", timeout=TIMEOUT_MS)
    reason = card.locator('[data-field="health-message"]')
    expect(reason).to_be_visible()
    expect(reason).to_contain_text(re.compile("no display", re.IGNORECASE))
    # and nothing that claims activity was recorded
    assert not any(root.evidence_dir.rglob("*.jsonl")) or all(
        b'"mode":"active"' not in p.read_bytes() for p in root.evidence_dir.rglob("*.jsonl")
    )
