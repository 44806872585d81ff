"""The built-in agents' figures: idle cost of each (target < 0.1 % CPU) and the folder
agent's change throughput.

Idle: ``client_folder_activity`` (native watching of an empty folder),
``trail_tracker`` (a trail folder polled every 2 s) and ``screen_tracker`` (one capture
at start, then one every 300 s; under a private Xvfb when available) run side by side
with the production heartbeat interval (15 s) for 60 s (quick: 10 s), measured from
outside (CPU from /proc schedstat, RSS with psutil) after two settling seconds.

Throughput: files created in a watched folder until the agent's summaries have counted
them all (native watching, end to end through the protocol), and the coalescer alone
in process.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._core import BenchContext, Figure, Measured, below, log, unmeasured
from benchmarks._idle import idle_cost
from mimolo.agents.client_folder_activity.coalesce import Coalescer, FileId, RawEvent
from mimolo.protocol.messages import LogMessage, SummaryMessage
from mimolo.testing import AgentDriver, agent_environment, is_ack, is_type, xvfb_display

WAIT_S = 30.0
IDLE_AGENTS = ("client_folder_activity", "trail_tracker", "screen_tracker")


def _argv(name: str) -> list[str]:
    return [sys.executable, "-m", f"mimolo.agents.{name}"]


@contextlib.contextmanager
def _xvfb() -> Iterator[str | None]:
    """A private X display, or None when Xvfb is not installed."""
    if shutil.which("Xvfb") is None:
        yield None
        return
    with xvfb_display(screen="1920x1080x24") as display:
        yield display


def _config(name: str, folder: Path) -> dict[str, Any]:
    if name == "client_folder_activity":
        return {"watch_paths": [str(folder)]}
    if name == "trail_tracker":
        (folder / "trail.txt.1").write_text("start\n")
        return {"trail_folder": str(folder)}
    return {"capture_interval_s": 300}


def _idle(ctx: BenchContext, seconds: float, display: str | None) -> dict[str, tuple[float, float]]:
    """CPU % and peak RSS MB per agent over ``seconds`` of idling."""
    drivers: dict[str, AgentDriver] = {}
    try:
        for name in IDLE_AGENTS:
            folder = ctx.tmp_dir(f"{name}-watched")
            env = agent_environment(
                ctx.tmp_dir(name),
                plugin_id=name,
                heartbeat_interval_s=15,
                config=_config(name, folder),
            )
            if display is not None:
                env["DISPLAY"] = display
            else:
                env.pop("DISPLAY", None)
            drivers[name] = AgentDriver(_argv(name), env=env).start()
        # start-up work (imports, baseline scan, first capture) is not idle cost
        return idle_cost(drivers, seconds, settle_s=2.0)
    finally:
        for driver in drivers.values():
            driver.kill()


def _flush_created(driver: AgentDriver) -> int:
    mark = driver.mark()
    driver.send({"cmd": "flush"})
    line = driver.wait_for(is_type("summary"), WAIT_S, after=mark)
    driver.wait_for(is_ack("flush"), WAIT_S, after=mark)
    if line is None or not isinstance(line.message, SummaryMessage):
        raise RuntimeError("no summary")
    return int(line.message.data["counts"]["created"])


def _end_to_end(ctx: BenchContext, files: int) -> float:
    """Files created per second until the agent has counted every one (native watching)."""
    folder = ctx.tmp_dir("burst")
    env = agent_environment(
        ctx.tmp_dir("folder-agent"),
        plugin_id="client_folder_activity",
        heartbeat_interval_s=15,
        config={"watch_paths": [str(folder)], "coalesce_window_s": 0.0},
    )
    driver = AgentDriver(_argv("client_folder_activity"), env=env).start()
    try:
        watching = driver.wait_for(
            lambda line: (
                isinstance(line.message, LogMessage) and "watching" in line.message.message
            ),
            WAIT_S,
        )
        if watching is None:
            raise RuntimeError(f"folder agent did not start watching: {bytes(driver.stderr)!r}")
        started = time.perf_counter()
        for i in range(files):
            (folder / f"f{i:06}.txt").write_bytes(b"x")
        counted = 0
        deadline = time.monotonic() + 120
        while counted < files and time.monotonic() < deadline:
            time.sleep(0.2)
            counted += _flush_created(driver)
        if counted < files:
            raise RuntimeError(f"only {counted} of {files} changes counted")
        return files / (time.perf_counter() - started)
    finally:
        driver.kill()


def _coalescer(n: int) -> float:
    events = [
        RawEvent(f"d{i % 100}/f{i}.txt", i * 1e-4, FileId(1, i + 1, 1), True) for i in range(n)
    ]
    c = Coalescer(window_s=1.0, max_pending=10_000, samples_limit=20)
    started = time.perf_counter()
    for event in events:
        c.feed(event)
    c.take(n * 1e-4 + 10)
    return n / (time.perf_counter() - started)


def run(ctx: BenchContext) -> list[Figure]:
    seconds = float(ctx.scale(full=60, quick=10))
    figures: list[Figure] = []
    with _xvfb() as display:
        log(f"idle built-in agents for {seconds:g} s (display: {display or 'none'})")
        idle = _idle(ctx, seconds, display)
    for name, (cpu, rss) in idle.items():
        note = f"{seconds:g} s idle, heartbeat every 15 s, CPU from /proc schedstat (ns)"
        if name == "screen_tracker":
            note += "; Xvfb 1920x1080" if display else "; no display (degraded, retrying)"
        figures.append(
            Measured(cpu, [cpu]).figure(
                f"{name} idle CPU", "%", target="< 0.1 %", verdict=below(cpu, 0.1), notes=note
            )
        )
        figures.append(
            Measured(rss, [rss]).figure(
                f"{name} idle RSS", "MB", notes="peak resident set size over the idle window"
            )
        )
    files = ctx.scale(full=10_000, quick=2_000)
    log(f"folder agent: {files} files created, end to end")
    try:
        e2e = ctx.median_of(lambda: _end_to_end(ctx, files), repeats=min(ctx.repeats, 3))
        figures.append(
            e2e.figure(
                "folder agent changes counted",
                "events/s",
                notes=(
                    f"{files:,} files created in a natively watched folder, timed until flushed "
                    "summaries counted them all (includes watchfiles' 1.6 s debounce)"
                ),
            )
        )
    except RuntimeError as exc:
        figures.append(unmeasured("folder agent changes counted", "events/s", str(exc)))
    n = ctx.scale(full=500_000, quick=100_000)
    core = ctx.median_of(lambda: _coalescer(n))
    figures.append(
        core.figure(
            "folder coalescer",
            "events/s",
            notes=f"{n:,} raw events through Coalescer.feed + take, in process",
        )
    )
    return figures
