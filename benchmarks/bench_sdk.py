"""The SDK's figures (DESIGN §12): an idle agent costs < 0.1 % CPU and < 20 MB RSS, and
reaches its handshake < 300 ms after start; plus the protocol decoder's throughput.

Idle: ``agent_template`` (the SDK and nothing else; a sample every 5 s) and
``agent_example`` (a sample every second) run side by side with the production heartbeat
interval (15 s) for 60 s (quick: 10 s), measured from outside with psutil after the
handshake. Latency: wall time from ``Popen`` to the handshake line, median of N starts.
Decode: ``decode_message`` over a mix of summary and heartbeat lines.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from benchmarks._core import BenchContext, Figure, Measured, at_least, below, log
from benchmarks._idle import HANDSHAKE_WAIT_S, idle_cost
from mimolo.protocol import HeartbeatMessage, SummaryMessage, decode_message, encode_message
from mimolo.protocol.messages import AgentMessage
from mimolo.testing import AgentDriver, agent_environment, is_type


def _argv(name: str) -> list[str]:
    """How Operations starts a built-in agent."""
    return [sys.executable, "-m", f"mimolo.agents.{name}"]


def _idle(ctx: BenchContext, seconds: float) -> dict[str, tuple[float, float]]:
    """CPU % and peak RSS MB per agent over ``seconds`` of idling."""
    drivers: dict[str, AgentDriver] = {}
    try:
        for name in ("agent_template", "agent_example"):
            env = agent_environment(
                ctx.tmp_dir("sdk-idle"), plugin_id=name, heartbeat_interval_s=15
            )
            drivers[name] = AgentDriver(_argv(name), env=env).start()
        return idle_cost(drivers, seconds, settle_s=1.0)
    finally:
        for driver in drivers.values():
            driver.kill()


def _handshake_ms(ctx: BenchContext) -> float:
    """Milliseconds from spawning agent_template to its handshake line."""
    env = agent_environment(ctx.tmp_dir("sdk-start"), heartbeat_interval_s=15)
    driver = AgentDriver(_argv("agent_template"), env=env)
    try:
        driver.start()
        line = driver.wait_for(is_type("handshake"), HANDSHAKE_WAIT_S)
        if line is None:
            raise RuntimeError(f"no handshake: {bytes(driver.stderr)!r}")
        return (line.at - driver.started_at) * 1000.0
    finally:
        driver.kill()


def _lines(n: int) -> list[bytes]:
    """``n`` encoded protocol lines, three summaries to one heartbeat."""
    now = datetime.now(UTC)
    env: dict[str, Any] = {"agent_id": "bench-1", "agent_label": "Bench", "agent_version": "1"}
    summary: AgentMessage = SummaryMessage(
        timestamp=now,
        protocol_version="0.4",
        data={
            "activity_signal": {"mode": "active", "keep_alive": True, "reason": "edit"},
            "window": {"start": now.isoformat(), "end": now.isoformat()},
            "client_id": "acme",
            "events": 12,
            "paths": ["src/a.py", "src/b.py"],
        },
        **env,
    )
    beat: AgentMessage = HeartbeatMessage(
        timestamp=now,
        protocol_version="0.4",
        metrics={"cpu_percent_recent": 0.01, "mem_mb": 16.5, "queue": 0},
        **env,
    )
    return [encode_message(summary if i % 4 else beat) for i in range(n)]


def run(ctx: BenchContext) -> list[Figure]:
    """Idle cost, start latency and decode throughput."""
    seconds = float(ctx.scale(full=60, quick=10))
    log(f"idle SDK agents for {seconds:g} s")
    idle = _idle(ctx, seconds)
    window = f"{seconds:g} s idle, heartbeat every 15 s, CPU from /proc schedstat (ns)"
    figures: list[Figure] = []
    for name, (cpu, rss) in idle.items():
        is_template = name == "agent_template"
        figures.append(
            Measured(cpu, [cpu]).figure(
                f"{name} idle CPU",
                "%",
                target="< 0.1 %" if is_template else "",
                verdict=below(cpu, 0.1) if is_template else "info",
                notes=window + ("" if is_template else "; samples every 1 s"),
            )
        )
        figures.append(
            Measured(rss, [rss]).figure(
                f"{name} idle RSS",
                "MB",
                target="< 20 MB" if is_template else "",
                verdict=below(rss, 20.0) if is_template else "info",
                notes="peak resident set size over the idle window",
            )
        )
    starts = ctx.scale(full=15, quick=5)
    log(f"start-to-handshake, median of {starts}")
    latency = ctx.median_of(lambda: _handshake_ms(ctx), repeats=starts)
    figures.append(
        latency.figure(
            "start to handshake",
            "ms",
            target="< 300 ms",
            verdict=below(latency.median, 300.0),
            notes="python -m mimolo.agents.agent_template, Popen to handshake line",
        )
    )
    n = ctx.scale(full=200_000, quick=20_000)
    lines = _lines(n)

    def decode_all() -> float:
        """Decode every line once; lines per second."""

        def decode() -> None:
            for line in lines:  # decoded and dropped, as a reader does
                decode_message(line)

        return n / ctx.time_call(decode)

    throughput = ctx.median_of(decode_all)
    figures.append(
        throughput.figure(
            "protocol decode",
            "lines/s",
            target="≥ 20000/s",
            verdict=at_least(throughput.median, 20_000),
            notes=f"{n:,} lines (3 summaries : 1 heartbeat), typed and validated",
        )
    )
    return figures
