"""The ActivityWatch peer: its own venv, a private aw-server process, and a small REST client.

aw-server lives in ``benchmarks/.aw-venv`` (created on first use) so that our venv never gets
aw packages. The server runs in ``--testing`` mode on a free 127.0.0.1 port with every XDG
directory pointed into a temp dir, and is stopped (SIGINT, then SIGTERM, then SIGKILL) when
the ``running_aw_server`` block ends. Talking to it uses its REST API through httpx.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from benchmarks._core import log
from mimolo.process_group import stop_popen

BENCH_DIR = Path(__file__).resolve().parent
AW_VENV = BENCH_DIR / ".aw-venv"
# peewee 4 makes aw-server 0.12.0 answer bucket creation with a 500.
AW_REQUIREMENTS = ("aw-server==0.12.0", "aw-client", "peewee<4", "flask<2.3")
AW_BUCKET_TYPE = "mimolo.activity"
START_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 900.0


class AwUnavailable(Exception):
    """aw-server cannot be installed or started here; the message says why."""


class AwEvent(msgspec.Struct, frozen=True):
    """An ActivityWatch event as its REST API takes it (timestamp ISO-8601, duration s)."""

    timestamp: str
    duration: float
    data: dict[str, str]


def requirements_stamp(requirements: Sequence[str] = AW_REQUIREMENTS) -> str:
    """A fingerprint of what the peer venv should contain, to know when to reinstall."""
    return hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]


def aw_server_executable(venv: Path = AW_VENV) -> Path:
    """Where the ``aw-server`` console script of the peer venv lives."""
    return venv / "bin" / "aw-server"


def ensure_aw_venv(venv: Path = AW_VENV) -> Path:
    """Create the peer venv and install aw-server into it once; return ``aw-server``'s path.

    Raises ``AwUnavailable`` with pip's last words when the install fails.
    """
    stamp = venv / ".mimolo-aw-installed"
    executable = aw_server_executable(venv)
    want = requirements_stamp()
    if executable.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return executable
    log(f"installing {', '.join(AW_REQUIREMENTS)} into {venv}")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", *AW_REQUIREMENTS],
    ]  # fmt: skip
    for argv in steps:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AwUnavailable(f"could not install aw-server: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise AwUnavailable(f"could not install aw-server: {' / '.join(tail)}")
    if not executable.exists():
        raise AwUnavailable(f"aw-server installed but {executable} is missing")
    stamp.write_text(want + "\n")
    return executable


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def aw_environment(home: Path) -> dict[str, str]:
    """Our environment with every place aw-server writes pointed inside ``home``."""
    env = dict(os.environ)
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        path = home / name.removeprefix("XDG_").removesuffix("_HOME").lower()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(path)
    env.pop("PYTHONPATH", None)  # the peer venv must not see our packages
    return env


def database_files(home: Path) -> list[Path]:
    """aw-server's sqlite files (database, WAL) under ``home``, to report their size."""
    return sorted((home / "data").rglob("peewee-sqlite*"))


class AwServer:
    """A running aw-server: its base URL, the process, and a REST client bound to it."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, home: Path) -> None:
        self.proc = proc
        self.port = port
        self.home = home
        self.base_url = f"http://127.0.0.1:{port}/api/0"
        self.http = httpx.Client(base_url=self.base_url, timeout=600.0)

    def info(self) -> dict[str, Any]:
        """``GET /info`` (which also proves the server answers)."""
        response = self.http.get("/info")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def create_bucket(self, bucket_id: str, hostname: str = "bench") -> None:
        """Create an empty bucket of our activity type."""
        body = {"client": "mimolo-bench", "type": AW_BUCKET_TYPE, "hostname": hostname}
        response = self.http.post(f"/buckets/{bucket_id}", json=body)
        response.raise_for_status()

    def insert_events(self, bucket_id: str, events: Sequence[AwEvent]) -> None:
        """Insert events in one request (aw-server commits them 100 rows per transaction)."""
        response = self.http.post(
            f"/buckets/{bucket_id}/events",
            content=msgspec.json.encode(events),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()

    def heartbeat(self, bucket_id: str, event: AwEvent, pulsetime: float) -> None:
        """One heartbeat: aw-server merges it into the last event when the data is equal."""
        response = self.http.post(
            f"/buckets/{bucket_id}/heartbeat",
            params={"pulsetime": pulsetime},
            content=msgspec.json.encode(event),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()

    def event_count(self, bucket_id: str) -> int:
        """How many events the bucket holds."""
        response = self.http.get(f"/buckets/{bucket_id}/events/count")
        response.raise_for_status()
        return int(response.json())

    def query(self, lines: Sequence[str], start: datetime, end: datetime) -> list[Any]:
        """Run a query2 program over one period; returns that period's ``RETURN`` value."""
        body = {"query": list(lines), "timeperiods": [f"{start.isoformat()}/{end.isoformat()}"]}
        response = self.http.post("/query/", json=body)
        response.raise_for_status()
        result: list[Any] = response.json()
        return result[0] if result else []

    def close(self) -> None:
        """Close the HTTP client (the process is stopped by ``running_aw_server``)."""
        self.http.close()


def _wait_until_up(server: AwServer, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise AwUnavailable(
                f"aw-server exited with {server.proc.returncode}: {' / '.join(tail)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            server.info()
            return
        time.sleep(0.1)
    raise AwUnavailable(f"aw-server did not answer within {START_TIMEOUT_S:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGINT (Flask's clean stop), then SIGTERM, then SIGKILL the server's process group."""
    stop_popen(
        proc,
        label="aw-server",
        grace_s=grace_s,
        term_signals=(signal.SIGINT, signal.SIGTERM),
        kill_wait_s=grace_s,
    )


@contextlib.contextmanager
def running_aw_server(home: Path, executable: Path | None = None) -> Iterator[AwServer]:
    """Start aw-server with its data under ``home``; stop it when the block ends."""
    executable = executable or ensure_aw_venv()
    port = free_port()
    log_path = home / "aw-server.log"
    argv = [str(executable), "--testing", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            argv,
            env=aw_environment(home),
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AwServer(proc, port, home)
    try:
        _wait_until_up(server, log_path)
        yield server
    finally:
        server.close()
        stop_process(proc)


__all__ = [
    "AW_REQUIREMENTS",
    "AW_VENV",
    "AwEvent",
    "AwServer",
    "AwUnavailable",
    "aw_environment",
    "database_files",
    "ensure_aw_venv",
    "free_port",
    "requirements_stamp",
    "running_aw_server",
    "stop_process",
]
