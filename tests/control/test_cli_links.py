"""Fresh sign-in links for a running Control: ``--new-link``, and ``up``/``control`` again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from mimolo.control.signin import launch_path
from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync

from ._live import DEADLINE_S, ops_answers, short_data_root
from .test_cli import _read_url, _shutdown_ops, mimolo

pytestmark = pytest.mark.slow


def run(*args: str, root: DataRoot) -> subprocess.CompletedProcess[str]:
    """``python -m mimolo <args>`` to completion (no display, so no browser)."""
    env = {**os.environ, "MIMOLO_DATA_DIR": str(root.root)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "mimolo", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=DEADLINE_S,
        check=False,
    )


def link_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


def sign_in(url: str) -> int:
    with httpx.Client(timeout=DEADLINE_S) as client:
        return client.get(url).status_code


def test_new_link_while_control_runs_and_after_it_stops() -> None:
    with short_data_root() as root:
        with mimolo("control", "--port", "0", "--no-open", root=root) as proc:
            first = _read_url(proc)
            base = first.split("?")[0]
            assert launch_path(root).stat().st_mode & 0o777 == 0o600

            fresh = link_of(run("control", "--new-link", "--no-open", root=root))
            assert fresh.split("?")[0] == base and fresh != first
            assert sign_in(fresh) == 303
            assert sign_in(fresh) == 403  # spent
            assert sign_in(first) == 303  # the printed link is still good, once
            assert sign_in(first) == 403

            # `mimolo control` again starts no second server: it prints a fresh link.
            again = run("control", "--port", "0", "--no-open", root=root)
            assert link_of(again).split("?")[0] == base
            assert "already running" in again.stderr
            assert sign_in(link_of(again)) == 303

            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=DEADLINE_S) == 0
        assert not launch_path(root).exists()
        gone = run("control", "--new-link", "--no-open", root=root)
        assert gone.returncode != 0
        assert "not running" in gone.stderr
        assert gone.stdout == ""


def test_up_when_control_already_runs_prints_a_fresh_link() -> None:
    with short_data_root() as root:
        pid: int | None = None
        try:
            with mimolo("control", "--port", "0", "--no-open", root=root) as proc:
                base = _read_url(proc).split("?")[0]
                up = run("up", "--port", "0", "--no-open", root=root)
                assert ops_answers(root)  # up still starts Operations when it is down
                pid = int(request_sync(root.socket_path, "get_status").get("pid", 0)) or None
                url = link_of(up)
                assert url.split("?")[0] == base
                assert "already running" in up.stderr
                assert sign_in(url) == 303
                assert proc.poll() is None  # the running Control is untouched
        finally:
            _shutdown_ops(root, pid)
        assert not ops_answers(root)
