"""``mimolo control`` and ``mimolo up`` as real subprocesses."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync

from ._live import DEADLINE_S, EXAMPLE_CONFIG, ops_answers, short_data_root, wait_for

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def mimolo(*args: str, root: DataRoot) -> Iterator[subprocess.Popen[str]]:
    """``python -m mimolo <args>`` with a private data root; SIGINT, then SIGKILL on exit."""
    env = {**os.environ, "MIMOLO_DATA_DIR": str(root.root)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimolo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours still "exists"; treat it as gone
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    return True


def _shutdown_ops(root: DataRoot, pid: int | None) -> None:
    with contextlib.suppress(IpcError, OSError):
        request_sync(root.socket_path, "shutdown_operations", timeout=5.0)
    if pid is not None:
        deadline = time.monotonic() + DEADLINE_S
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _read_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w.-]{40,}", line), line
    return line


def test_control_prints_a_signin_url_and_serves_read_only_without_operations() -> None:
    with (
        short_data_root() as root,
        mimolo("control", "--port", "0", "--no-open", root=root) as proc,
    ):
        url = _read_url(proc)
        base = url.split("?")[0].rstrip("/")
        with httpx.Client(timeout=DEADLINE_S) as client:
            assert client.get(base + "/").status_code == 401
            signin = client.get(url)
            assert signin.status_code == 303
            assert client.get(base + "/timeline").status_code == 200
            status = client.get(base + "/api/status").json()
            assert status["ops_available"] is False
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 0
        log_file = root.logs_dir / "control.log"
        assert log_file.stat().st_mode & 0o777 == 0o600


def test_control_refuses_a_port_in_use() -> None:
    import socket

    with short_data_root() as root, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with mimolo("control", "--port", str(port), "--no-open", root=root) as proc:
            assert proc.wait(timeout=DEADLINE_S) != 0
            assert proc.stderr is not None
            assert "cannot listen" in proc.stderr.read()


def test_up_starts_operations_detached_then_control() -> None:
    with short_data_root() as root:
        root.config_path.write_text(EXAMPLE_CONFIG)
        pid: int | None = None
        try:
            with mimolo("up", "--port", "0", "--no-open", root=root) as proc:
                url = _read_url(proc)
                assert ops_answers(root)
                pid = int(request_sync(root.socket_path, "get_status").get("pid", 0)) or None
                base = url.split("?")[0].rstrip("/")
                with httpx.Client(timeout=DEADLINE_S) as client:
                    client.get(url)
                    wait_for(
                        lambda: client.get(base + "/api/status").json()["ops_available"],
                        "Control to see Operations",
                    )
                    cards = client.get(base + "/fragments/cards").text
                    assert 'data-instance="example-a"' in cards
                proc.send_signal(signal.SIGINT)
                assert proc.wait(timeout=DEADLINE_S) == 0
            # Operations outlives Control.
            assert ops_answers(root)
            with mimolo("up", "--port", "0", "--no-open", root=root) as again:
                _read_url(again)
                assert again.stderr is not None
                again.send_signal(signal.SIGINT)
                again.wait(timeout=DEADLINE_S)
                assert "already running" in again.stderr.read()
        finally:
            _shutdown_ops(root, pid)
        assert not ops_answers(root)
