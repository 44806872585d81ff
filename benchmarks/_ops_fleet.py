"""A real ``mimolo ops`` subprocess supervising N ``agent_template`` instances, for the
benchmarks that need a fleet of idle agents (IPC latency, Operations' own idle cost)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._core import log
from mimolo.dataroot import DataRoot
from mimolo.ipc import OpsClient
from mimolo.process_group import stop_popen

HEARTBEAT_S = 15.0


def fleet_config(n: int) -> str:
    """``agent_config.toml`` for N agent_template instances at the production heartbeat."""
    lines = [
        "[settings]",
        f"heartbeat_interval_s = {HEARTBEAT_S}",
        "start_timeout_s = 120.0",  # 200 interpreters starting at once on a small machine
        "hang_timeout_s = 900.0",
        "agent_flush_interval_s = 60.0",
        "",
    ]
    for i in range(n):
        lines += [f"[instances.agent-{i:03d}]", 'template = "agent_template"']
        lines += [f'label = "A{i}"', ""]
    return "\n".join(lines)


async def _wait_running(path: Path, n: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    running = 0
    async with OpsClient(path, connect_attempts=100, backoff_initial_s=0.1) as client:
        while time.monotonic() < deadline:
            agents = (await client.request("get_agent_states"))["agents"]
            running = sum(1 for a in agents if a["state"] == "running")
            if running >= n:
                return running
            await asyncio.sleep(1.0)
    return running


@contextlib.contextmanager
def running_ops(root: DataRoot, *args: str, grace_s: float) -> Iterator[int]:
    """``mimolo ops [args]`` on ``root`` in its own session, output discarded; yields its pid.
    On the way out it gets SIGTERM (it stops its agents itself), SIGKILL after ``grace_s``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimolo", "ops", *args],
        env={**os.environ, "MIMOLO_DATA_DIR": str(root.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc.pid
    finally:
        if stop_popen(proc, label="mimolo ops", grace_s=grace_s) == "sigkill":
            log(f"Operations did not stop within {grace_s:.0f} s of SIGTERM; killed")


@contextlib.contextmanager
def ops_fleet(root_dir: Path, n: int) -> Iterator[tuple[DataRoot, int]]:
    """Start ``mimolo ops`` over N agents and yield ``(root, pid)`` at once (wait for the
    agents with ``running_count``). On the way out Operations gets SIGTERM, which stops
    every agent gracefully, and is killed if it has not finished within 300 s."""
    root = DataRoot.resolve(root_dir).ensure()
    root.config_path.write_text(fleet_config(n))
    log(f"starting mimolo ops with {n} agent_template instances")
    with running_ops(root, grace_s=300.0) as pid:
        yield root, pid


def running_count(root: DataRoot, n: int, timeout: float = 600.0) -> int:
    """Wait until N agents run (or the timeout passes); how many run."""
    return asyncio.run(_wait_running(root.socket_path, n, timeout))


__all__ = ["HEARTBEAT_S", "fleet_config", "ops_fleet", "running_count", "running_ops"]
