"""The real ``mimolo ops`` under hostile agents: config, the process, a pinger, orphans.

Operations runs as ``python -m mimolo ops --extra-templates DIR`` (the test-only template
directory holds ``hostile.json``, which runs ``agents/hostile.py``). Every helper here
uses the real socket, real processes and generous deadlines, never a speed assumption.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import psutil

from control._live import OpsProcess, wait_for
from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.errors import IpcError
from mimolo.ipc.client import request_sync

HOSTILE: Final = Path(__file__).parent / "agents" / "hostile.py"
PLUGIN: Final = "hostile"
PING_BOUND_S: Final = 1.0  # a generous liveness bound, not a speed claim
RSS_BOUND_MB: Final = 200.0
STOP_DEADLINE_S: Final = 60.0

FAST_SETTINGS: Final[dict[str, Any]] = {
    "heartbeat_interval_s": 0.5,
    "agent_flush_interval_s": 3600.0,
    "start_timeout_s": 20.0,
    "hang_timeout_s": 3.0,
    "stop_grace_s": 2.0,
    "restart_backoff_initial_s": 0.1,
    "restart_backoff_max_s": 0.4,
    "restart_stable_after_s": 60.0,
    "quarantine_max_restarts": 3,
    "quarantine_window_s": 120.0,
    "resource_sample_interval_s": 0.5,
    "ledger_fsync_interval_ms": 50,
}

_PARAMS: Final = [
    {"name": "mode", "type": "str", "default": "good"},
    {"name": "flood_type", "type": "str", "default": "log"},
    {"name": "count", "type": "int", "default": 3},
    {"name": "line_bytes", "type": "int", "default": 1024 * 1024},
    {"name": "depth", "type": "int", "default": 1000},
    {"name": "metrics_bytes", "type": "int", "default": 255 * 1024},
    {"name": "linger_s", "type": "float", "default": 0.0},
]


def write_templates(directory: Path) -> Path:
    """The extra-templates directory with the hostile agent's template."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    spec = {
        "plugin_id": PLUGIN,
        "label": "Hostile test agent",
        "version": "1.0.0",
        "argv": [sys.executable, str(HOSTILE)],
        "params": _PARAMS,
    }
    path = directory / "hostile.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    path.chmod(0o600)
    return directory


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string for plain text


def config_text(instances: Mapping[str, Mapping[str, Any]], **settings: Any) -> str:
    """``agent_config.toml`` with the fast settings and one hostile instance per entry."""
    lines = ["[settings]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in {**FAST_SETTINGS, **settings}.items()]
    for iid, params in instances.items():
        lines += ["", f"[instances.{iid}]", f'template = "{PLUGIN}"', f'label = "{iid}"']
        lines += ["", f"[instances.{iid}.params]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def write_config(
    root: DataRoot, instances: Mapping[str, Mapping[str, Any]], **settings: Any
) -> None:
    root.config_path.write_text(config_text(instances, **settings), encoding="utf-8")
    root.config_path.chmod(0o600)


class FaultOps(OpsProcess):
    """``mimolo ops --extra-templates DIR`` with a shutdown that reports a freeze."""

    @property
    def pid(self) -> int:
        assert self.proc is not None, "Operations is not running"
        return self.proc.pid

    def sigkill(self) -> None:
        """SIGKILL Operations alone (not its agents): the crash the ledger must survive."""
        proc, self.proc = self.proc, None
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_DEADLINE_S)

    def shutdown(self, deadline_s: float = STOP_DEADLINE_S) -> int:
        """SIGTERM and wait; a freeze (no exit by the deadline) fails the test."""
        proc = self.proc
        assert proc is not None, "Operations is not running"
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            cpu = _cpu_percent(proc.pid)
            self.kill()
            raise AssertionError(
                f"Operations did not stop within {deadline_s:g} s of SIGTERM "
                f"(cpu {cpu}%); console:\n{self.console()}"
            ) from None
        self.proc = None
        return code


def _cpu_percent(pid: int) -> str:
    with contextlib.suppress(psutil.Error):
        return f"{psutil.Process(pid).cpu_percent(interval=1.0):.0f}"
    return "?"


def ipc(root: DataRoot, cmd: str, *, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
    """One request over the real control socket (a fresh connection)."""
    return request_sync(root.socket_path, cmd, timeout=timeout, **fields)


def agent_states(root: DataRoot) -> dict[str, dict[str, Any]]:
    agents = ipc(root, "get_agent_states")["agents"]
    return {a["instance_id"]: a for a in agents}


def wait_states(root: DataRoot, want: Mapping[str, tuple[str, ...]], timeout: float = 60.0) -> None:
    """Until every named instance is in one of its wanted states."""

    def ok() -> bool:
        try:
            states = agent_states(root)
        except IpcError:
            return False
        return all(states.get(iid, {}).get("state") in wanted for iid, wanted in want.items())

    wait_for(ok, f"states {dict(want)}", timeout)


class Pinger(threading.Thread):
    """Pings over one persistent connection every 0.1 s; records slow or missing answers
    and the peak RSS of Operations."""

    def __init__(self, root: DataRoot, pid: int) -> None:
        super().__init__(name="pinger", daemon=True)
        self.root = root
        self.pid = pid
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.peak_rss_mb = 0.0
        self._halt = threading.Event()
        self._paused = threading.Event()
        self._started_at = time.monotonic()

    def pause(self) -> None:
        """Stop pinging (Operations is about to go away on purpose)."""
        self._paused.set()

    def resume(self, pid: int) -> None:
        self.pid = pid
        self._paused.clear()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)

    def _fail(self, what: str) -> None:
        self.failures.append(f"t={time.monotonic() - self._started_at:.1f}s: {what}")

    def _sample_rss(self) -> None:
        with contextlib.suppress(psutil.Error):
            rss = psutil.Process(self.pid).memory_info().rss / 2**20
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def run(self) -> None:
        sock: socket.socket | None = None
        buf = b""
        n = 0
        while not self._halt.wait(0.1):
            if self._paused.is_set():
                if sock is not None:
                    sock.close()
                    sock = None
                continue
            self._sample_rss()
            try:
                if sock is None:
                    sock, buf = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), b""
                    sock.settimeout(PING_BOUND_S)
                    sock.connect(str(self.root.socket_path))
                n += 1
                started = time.monotonic()
                sock.sendall(json.dumps({"cmd": "ping", "request_id": f"p{n}"}).encode() + b"\n")
                while b"\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("Operations closed the connection")
                    buf += chunk
                answer, buf = buf.split(b"\n", 1)
                self.latencies.append(time.monotonic() - started)
                if not json.loads(answer).get("ok"):
                    self._fail(f"ping answered {answer[:200]!r}")
            except TimeoutError:
                self._fail(f"no ping answer within {PING_BOUND_S:g} s")
                _close(sock)
                sock = None
            except OSError as exc:
                self._fail(f"ping failed: {exc!r}")
                _close(sock)
                sock = None
        _close(sock)


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()


def leftover_processes(root: DataRoot) -> list[psutil.Process]:
    """Live processes (Operations, agents, their descendants) of this data root."""
    out = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(ENV_DATA_DIR) == str(root.root):
                out.append(proc)
        except (psutil.Error, OSError):
            continue
    return out


def describe(procs: list[psutil.Process]) -> str:
    parts = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            parts.append(f"pid {proc.pid} ppid {proc.ppid()} {' '.join(proc.cmdline())[:120]}")
    return "; ".join(parts)


def kill_all(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


@contextlib.contextmanager
def reaped(root: DataRoot) -> Iterator[None]:
    """Whatever the test leaves behind under this data root is killed on the way out."""
    try:
        yield
    finally:
        kill_all(leftover_processes(root))


def assert_no_orphans(root: DataRoot, grace_s: float = 10.0) -> None:
    """0 orphans: nothing with this data root in its environment outlives Operations.

    A short grace lets processes already SIGKILLed disappear; survivors fail the test
    (and are killed so they do not leak into the next test).
    """
    deadline = time.monotonic() + grace_s
    left = leftover_processes(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = leftover_processes(root)
    if left:
        text = describe(left)
        kill_all(left)
        raise AssertionError(f"{len(left)} orphan(s) outlived Operations: {text}")


def assert_pinger_ok(pinger: Pinger) -> None:
    assert pinger.latencies, "the pinger never got an answer"
    assert not pinger.failures, (
        f"control ping missed its {PING_BOUND_S:g} s bound {len(pinger.failures)} time(s): "
        + "; ".join(pinger.failures[:10])
    )
    assert pinger.peak_rss_mb < RSS_BOUND_MB, (
        f"Operations RSS peaked at {pinger.peak_rss_mb:.0f} MB (bound {RSS_BOUND_MB:g} MB)"
    )
