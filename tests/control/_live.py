"""Real servers for Control tests: Control on a loopback port (uvicorn in a thread) and
Operations as a ``python -m mimolo ops`` subprocess, both cleaned up on every path."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import httpx

from mimolo.control import Auth, OpsLink, bind_loopback, create_app
from mimolo.control.server import make_server
from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync

DEADLINE_S = 30.0

EXAMPLE_CONFIG = """\
[settings]
heartbeat_interval_s = 1.0
agent_flush_interval_s = 2.0
stop_grace_s = 3.0

[instances.example-a]
template = "agent_example"
label = "Example A"
client_id = "acme"

[instances.example-a.params]
mode = "active"
activity_probability = 1.0
seed = 1

[instances.example-b]
template = "agent_example"
label = "Example B"

[instances.example-b.params]
mode = "passive"
seed = 2
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@contextlib.contextmanager
def short_data_root() -> Iterator[DataRoot]:
    """A fresh data root under /tmp (short, so the unix socket path fits)."""
    path = Path(tempfile.mkdtemp(prefix="mctl-", dir="/tmp"))
    try:
        yield DataRoot.resolve(path / "root").ensure()
    finally:
        shutil.rmtree(path, ignore_errors=True)


class LiveControl:
    """A Control app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, root: DataRoot, *, backoff_max_s: float = 1.0) -> None:
        self.root = root
        self.auth = Auth()
        self.ops = OpsLink(root.socket_path, poll_interval_s=1.0, backoff_max_s=backoff_max_s)
        self.app = create_app(root, auth=self.auth, ops=self.ops)
        self.sock = bind_loopback(0)
        self.port: int = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._server = make_server(self.app)
        self._thread = threading.Thread(target=self._run, name="control-server", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by stop()
            self._error = exc

    @property
    def signin_url(self) -> str:
        """A fresh one-shot sign-in link (each read mints a new token)."""
        return f"{self.base}/?token={self.auth.new_link_token()}"

    def start(self) -> LiveControl:
        self._thread.start()
        wait_for(lambda: self._server.started, "Control to listen")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=DEADLINE_S)
        self.sock.close()
        if self._error is not None:
            raise self._error

    @contextlib.contextmanager
    def client(self, *, signed_in: bool = True) -> Iterator[httpx.Client]:
        """An httpx client; signed in (cookie set) unless told otherwise."""
        with httpx.Client(base_url=self.base, follow_redirects=False, timeout=DEADLINE_S) as c:
            if signed_in:
                response = c.get(f"/?token={self.auth.new_link_token()}")
                assert response.status_code == 303
            yield c

    def csrf_token(self, client: httpx.Client) -> str:
        """The CSRF token of ``client``'s session, as the page carries it."""
        html = client.get("/evidence").text
        marker = 'name="csrf-token" content="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]


@contextlib.contextmanager
def live_control(root: DataRoot) -> Iterator[LiveControl]:
    control = LiveControl(root).start()
    try:
        yield control
    finally:
        control.stop()


def ops_answers(root: DataRoot) -> bool:
    try:
        request_sync(root.socket_path, "ping", timeout=2.0)
    except (IpcError, OSError):
        return False
    return True


class OpsProcess:
    """``python -m mimolo ops`` for a data root; ``stop`` is SIGTERM then SIGKILL."""

    def __init__(self, root: DataRoot, *, extra_templates: Path | None = None) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root.root.parent / "ops-console.log"
        # the test-only way to run our own agents under the real mimolo ops
        self.extra_args = ["--extra-templates", str(extra_templates)] if extra_templates else []

    def console(self) -> str:
        """The tail of Operations' console output (for failure messages)."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
        return ""

    def start(self) -> Self:
        env = {**os.environ, ENV_DATA_DIR: str(self.root.root)}
        with open(self.log_path, "ab") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mimolo", "ops", *self.extra_args],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=env,
                start_new_session=True,
            )
        proc = self.proc
        wait_for(lambda: ops_answers(self.root) or proc.poll() is not None, "Operations to answer")
        if proc.poll() is not None:
            raise AssertionError(f"Operations exited: {self.console()}")
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group (agents included) and reap it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=DEADLINE_S)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        self.kill()


@contextlib.contextmanager
def running_ops(root: DataRoot, config: str = EXAMPLE_CONFIG) -> Iterator[OpsProcess]:
    root.config_path.write_text(config, encoding="utf-8")
    os.chmod(root.config_path, 0o600)
    ops = OpsProcess(root)
    try:
        yield ops.start()
    finally:
        ops.stop()
