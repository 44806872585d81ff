"""IPC ``get_agent_states`` round trip with 200 agents running (DESIGN §12): p99 < 10 ms.

A real ``mimolo ops`` subprocess supervises N ``agent_template`` instances (200; quick
mode 20). Once every agent runs, one persistent ``OpsClient`` connection sends
``get_agent_states`` back to back and times each round trip (request written to answer
decoded). ``ping`` is measured the same way as the floor of the socket itself.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from benchmarks._core import BenchContext, Figure, below, log, unmeasured
from benchmarks._ops_fleet import ops_fleet, running_count
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.ipc import OpsClient

TARGET_MS = 10.0


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


def run(ctx: BenchContext) -> list[Figure]:
    n = ctx.scale(full=200, quick=20)
    count = ctx.scale(full=1000, quick=300)
    with ops_fleet(ctx.tmp_dir("ipc"), n) as (root, _pid):
        return _measure(ctx, root, n, count)


def _measure(ctx: BenchContext, root: DataRoot, n: int, count: int) -> list[Figure]:
    name = f"IPC get_agent_states p99 ({n} agents)"
    try:
        running = running_count(root, n)
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
