"""Reliability under hostile agents (DESIGN §12): control ``ping`` p99 < 10 ms while the
fault agents run, and Operations' peak RSS under the worst flood < 100 MB.

A real ``mimolo ops --extra-templates DIR`` subprocess supervises the fault suite's
hostile agent (``tests/faults/agents/hostile.py``): one flood per message type (ack,
log, status, error, heartbeat, widget_frame, summary, each as fast as it can), 1 MiB and
10 MiB lines, invalid UTF-8, NULs, nesting 1,000 and 100,000 levels deep, a crash loop,
256 KiB heartbeat metrics and a silent hang. Once they run, one persistent ``OpsClient``
connection sends ``ping`` back to back and times each round trip, while a sampler reads
Operations' RSS every 50 ms for the whole window. Quick mode: a shorter window and fewer
pings; the same agents (the worst flood is the point).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from benchmarks._core import BenchContext, Figure, below, log, unmeasured
from benchmarks._ops_fleet import running_ops
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.ipc import OpsClient

PING_P99_TARGET_MS = 10.0
RSS_TARGET_MB = 100.0
HOSTILE = Path(__file__).resolve().parent.parent / "tests" / "faults" / "agents" / "hostile.py"
FLOOD_TYPES = ("ack", "log", "status", "error", "heartbeat", "widget_frame", "summary")
MIB = 1024 * 1024
AGENTS: dict[str, dict[str, Any]] = {
    **{f"flood-{t.replace('_', '-')}": {"mode": "flood", "flood_type": t} for t in FLOOD_TYPES},
    "lines-1m": {"mode": "huge_lines", "line_bytes": MIB, "count": 3},
    "lines-10m": {"mode": "huge_lines", "line_bytes": 10 * MIB, "count": 2},
    "bad-utf8": {"mode": "invalid_utf8", "count": 5},
    "nuls": {"mode": "nul", "count": 5},
    "deep-1k": {"mode": "deep", "depth": 1000, "count": 2},
    "deep-100k": {"mode": "deep", "depth": 100_000, "count": 1},
    "crash-loop": {"mode": "crash"},
    "big-beat": {"mode": "big_heartbeat"},
    "hangs": {"mode": "hang"},
}
SETTINGS: dict[str, Any] = {
    "heartbeat_interval_s": 0.5,
    "start_timeout_s": 60.0,
    "hang_timeout_s": 5.0,
    "stop_grace_s": 2.0,
    "restart_backoff_initial_s": 0.2,
    "restart_backoff_max_s": 1.0,
    "quarantine_max_restarts": 1000,  # keep the crash loop restarting all along
    "resource_sample_interval_s": 1.0,
}
PARAMS = [
    {"name": "mode", "type": "str", "default": "good"},
    {"name": "flood_type", "type": "str", "default": "log"},
    {"name": "count", "type": "int", "default": 3},
    {"name": "line_bytes", "type": "int", "default": MIB},
    {"name": "depth", "type": "int", "default": 1000},
    {"name": "metrics_bytes", "type": "int", "default": 255 * 1024},
    {"name": "linger_s", "type": "float", "default": 0.0},
]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else json.dumps(str(value))


def fault_config() -> str:
    """``agent_config.toml``: the fault agents with fast supervision settings."""
    lines = ["[settings]", *(f"{k} = {_toml(v)}" for k, v in SETTINGS.items())]
    for iid, params in AGENTS.items():
        lines += ["", f"[instances.{iid}]", 'template = "hostile"', f'label = "{iid}"']
        lines += [f"[instances.{iid}.params]", *(f"{k} = {_toml(v)}" for k, v in params.items())]
    return "\n".join(lines) + "\n"


def write_templates(directory: Path) -> Path:
    directory.mkdir(mode=0o700, exist_ok=True)
    spec = {
        "plugin_id": "hostile",
        "label": "Hostile fault agent",
        "version": "1.0.0",
        "argv": [sys.executable, str(HOSTILE)],
        "params": PARAMS,
    }
    (directory / "hostile.json").write_text(json.dumps(spec))
    return directory


@contextlib.contextmanager
def fault_ops(tmp: Path) -> Iterator[tuple[DataRoot, int]]:
    """``mimolo ops`` over the fault agents; SIGTERM on the way out (killed after 120 s)."""
    root = DataRoot.resolve(tmp / "root").ensure()
    root.config_path.write_text(fault_config())
    templates = write_templates(tmp / "templates")
    log(f"starting mimolo ops with {len(AGENTS)} hostile agents")
    with running_ops(root, "--extra-templates", str(templates), grace_s=120.0) as pid:
        yield root, pid


class RssSampler(threading.Thread):
    """Operations' peak RSS, sampled every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.process = psutil.Process(pid)
        self.peak_mb = 0.0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.05):
            with contextlib.suppress(psutil.Error):
                self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
                self.samples += 1

    def stop(self) -> float:
        self._halt.set()
        self.join(timeout=10)
        return self.peak_mb


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _wait_running(path: Path, names: list[str], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    running = 0
    async with OpsClient(path, connect_attempts=100, backoff_initial_s=0.1) as client:
        while time.monotonic() < deadline:
            agents = (await client.request("get_agent_states"))["agents"]
            running = sum(
                1 for a in agents if a["instance_id"] in names and a["state"] == "running"
            )
            if running >= len(names):
                break
            await asyncio.sleep(0.5)
    return running


async def _pings(path: Path, count: int, pause_s: float) -> list[float]:
    """Round trips of ``count`` pings (ms), spread over the window by ``pause_s``."""
    async with OpsClient(path) as client:
        await client.request("ping")
        out = []
        for _ in range(count):
            started = time.perf_counter()
            await client.request("ping")
            out.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(pause_s)
        return out


def run(ctx: BenchContext) -> list[Figure]:
    window_s = float(ctx.scale(full=30, quick=8))
    count = ctx.scale(full=3000, quick=400)
    p99_name = "control ping p99 under fault agents"
    rss_name = "Operations peak RSS under the worst flood"
    if not HOSTILE.exists():
        reason = f"{HOSTILE} is missing"
        return [
            unmeasured(p99_name, "ms", reason, target="< 10 ms"),
            unmeasured(rss_name, "MB", reason, target="< 100 MB"),
        ]
    with fault_ops(ctx.tmp_dir("faults")) as (root, pid):
        try:
            steady = [n for n in AGENTS if n not in ("crash-loop", "hangs")]
            running = asyncio.run(_wait_running(root.socket_path, steady, 300.0))
            if running < len(steady):
                reason = f"only {running}/{len(steady)} fault agents came up"
                return [
                    unmeasured(p99_name, "ms", reason, target="< 10 ms"),
                    unmeasured(rss_name, "MB", reason, target="< 100 MB"),
                ]
            return _measure(ctx, root, pid, window_s, count)
        except MimoloError as exc:
            reason = f"Operations failed: {exc}"
            return [
                unmeasured(p99_name, "ms", reason, target="< 10 ms"),
                unmeasured(rss_name, "MB", reason, target="< 100 MB"),
            ]


def _measure(
    ctx: BenchContext, root: DataRoot, pid: int, window_s: float, count: int
) -> list[Figure]:
    pause_s = max(0.0, window_s / count - 0.001)
    log(f"{len(AGENTS)} fault agents up; {count} pings over ~{window_s:.0f} s x {ctx.repeats}")
    sampler = RssSampler(pid)
    sampler.start()
    runs = [asyncio.run(_pings(root.socket_path, count, pause_s)) for _ in range(ctx.repeats)]
    peak = sampler.stop()
    p50s = [_percentile(r, 0.50) for r in runs]
    p99s = [_percentile(r, 0.99) for r in runs]
    p99 = sorted(p99s)[len(p99s) // 2]
    worst = max(max(r) for r in runs)
    notes = (
        f"{len(AGENTS)} hostile agents (a flood of each of {len(FLOOD_TYPES)} message types, "
        "huge/invalid/deep lines, crash loop, 256 KiB metrics, hang) under a real "
        f"`mimolo ops`; {count} pings per repeat over one connection; worst {worst:.1f} ms"
    )
    return [
        Figure(
            name="control ping p50 under fault agents",
            value=sorted(p50s)[len(p50s) // 2],
            unit="ms",
            notes=notes,
            samples=p50s,
            repeats=len(p50s),
        ),
        Figure(
            name="control ping p99 under fault agents",
            value=p99,
            unit="ms",
            target=f"< {PING_P99_TARGET_MS:g} ms",
            verdict=below(p99, PING_P99_TARGET_MS),
            notes=notes,
            samples=p99s,
            repeats=len(p99s),
        ),
        Figure(
            name="Operations peak RSS under the worst flood",
            value=round(peak, 1),
            unit="MB",
            target=f"< {RSS_TARGET_MB:g} MB",
            verdict=below(peak, RSS_TARGET_MB),
            notes=f"max of {sampler.samples} RSS samples (every 50 ms) over all repeats",
        ),
    ]
