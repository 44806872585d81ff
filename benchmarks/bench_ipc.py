"""IPC ``get_agent_states`` round trip with 200 agents running (DESIGN §12): p99 < 10 ms.

A real ``mimolo ops`` subprocess supervises N ``agent_template`` instances (200; quick
mode 20). Once every agent runs, one persistent ``OpsClient`` connection sends
``get_agent_states`` back to back and times each round trip (request written to answer
decoded). ``ping`` is measured the same way as the floor of the socket itself.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._core import BenchContext, Figure, below, log, unmeasured
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.ipc import OpsClient

TARGET_MS = 10.0


def _config(n: int) -> str:
    lines = [
        "[settings]",
        "heartbeat_interval_s = 15.0",
        "start_timeout_s = 120.0",  # 200 interpreters starting at once on a small machine
        "hang_timeout_s = 900.0",
        "agent_flush_interval_s = 60.0",
        "",
    ]
    for i in range(n):
        lines += [
            f"[instances.agent-{i:03d}]",
            'template = "agent_template"',
            f'label = "A{i}"',
            "",
        ]
    return "\n".join(lines)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _round_trips(path: Path, cmd: str, count: int) -> list[float]:
    async with OpsClient(path) as client:
        await client.request(cmd)
        out = []
        for _ in range(count):
            started = time.perf_counter()
            await client.request(cmd)
            out.append((time.perf_counter() - started) * 1000)
        return out


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


def run(ctx: BenchContext) -> list[Figure]:
    n = ctx.scale(full=200, quick=20)
    count = ctx.scale(full=1000, quick=300)
    root = DataRoot.resolve(ctx.tmp_dir("ipc")).ensure()
    root.config_path.write_text(_config(n))
    env = {**os.environ, "MIMOLO_DATA_DIR": str(root.root)}
    log(f"starting mimolo ops with {n} agent_template instances")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimolo", "ops"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    name = f"IPC get_agent_states p99 ({n} agents)"
    try:
        running = asyncio.run(_wait_running(root.socket_path, n, timeout=600))
        if running < n:
            return [unmeasured(name, "ms", f"only {running}/{n} agents came up", target="< 10 ms")]
        time.sleep(2.0)  # let start-up chatter settle
        log(f"{running} agents running; timing {count} round trips x {ctx.repeats}")
        runs = [
            asyncio.run(_round_trips(root.socket_path, "get_agent_states", count))
            for _ in range(ctx.repeats)
        ]
        pings = asyncio.run(_round_trips(root.socket_path, "ping", count))
        p50s = [_percentile(r, 0.50) for r in runs]
        p99s = [_percentile(r, 0.99) for r in runs]
        p99 = sorted(p99s)[len(p99s) // 2]
        notes = (
            f"{count} sequential requests per repeat over one connection to a real "
            f"`mimolo ops` subprocess supervising {n} agent_template agents; "
            f"ping p50 {_percentile(pings, 0.5):.2f} ms"
        )
        return [
            Figure(
                name=f"IPC get_agent_states p50 ({n} agents)",
                value=sorted(p50s)[len(p50s) // 2],
                unit="ms",
                notes=notes,
                samples=p50s,
                repeats=len(p50s),
            ),
            Figure(
                name=name,
                value=p99,
                unit="ms",
                target=f"< {TARGET_MS:g} ms",
                verdict=below(p99, TARGET_MS),
                notes=notes,
                samples=p99s,
                repeats=len(p99s),
            ),
        ]
    except MimoloError as exc:
        return [unmeasured(name, "ms", f"Operations failed: {exc}", target="< 10 ms")]
    finally:
        proc.terminate()  # Operations stops every agent gracefully on SIGTERM
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
