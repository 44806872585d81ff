"""Operations' own figures (DESIGN §12): ingest throughput, and its idle cost with a fleet.

Ingest: K real agent processes (``_blast_agent.py``) each write their share of N summaries
on one ``flush``; Operations' real pipeline (the ``Supervisor`` reading their stdout, the
line cap, schema validation, per-agent queues and back-pressure, the ``Ledger`` wrapping
each record and group-committing with fsync) runs on one event loop, one core. Timed from
the flush commands to the fsync that made the last record durable. The per-agent summary
rate limit is set to unlimited: it is a policy against runaway agents, not the pipeline's
capacity. Target ≥ 20,000 summaries/s.

Idle: a real ``mimolo ops`` subprocess supervising 50 and 200 ``agent_template`` agents
heartbeating every 15 s (quick: 20); Operations' own CPU (user + system, children not
included) over a 60 s window (quick: 15 s) after the start-up has settled, and its RSS.
Target for 200 agents: < 1 % of one core and < 150 MB.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil

from benchmarks._core import BenchContext, Figure, Measured, at_least, below, log, unmeasured
from benchmarks._ops_fleet import ops_fleet, running_count
from mimolo.dataroot import DataRoot
from mimolo.operations.config import validate_config
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.operations.supervisor import Supervisor
from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

INGEST_TARGET = 60_000.0  # hash-chained (DESIGN §12; 20,000/s before the chain)
IDLE_CPU_TARGET = 1.0
IDLE_RSS_TARGET_MB = 150.0
BLAST_AGENTS = 4
BLAST_SCRIPT = Path(__file__).with_name("_blast_agent.py")


class _BlastTemplate(AgentTemplate, frozen=True, kw_only=True):
    def argv(self) -> list[str]:
        return [sys.executable, str(BLAST_SCRIPT)]


_BLAST = _BlastTemplate(
    plugin_id="blast",
    label="Ingest benchmark agent",
    description="benchmarks/_blast_agent.py",
    version="1.0.0",
    module="unused",
    params=(Param(name="count", type="int", default=1000),),
)


def _resolve(name: str) -> AgentTemplate | None:
    return _BLAST if name == "blast" else None


async def _ingest(n: int, tmp: Path) -> float:
    root = DataRoot.resolve(tmp).ensure()
    share = -(-n // BLAST_AGENTS)
    instances = {
        f"blast-{i}": {"template": "blast", "label": f"B{i}", "params": {"count": share}}
        for i in range(BLAST_AGENTS)
    }
    settings = {
        "summary_rate_limit_per_s": 0.0,
        "evidence_bytes_per_s": 0.0,
        "agent_flush_interval_s": 3600.0,
        "start_timeout_s": 60.0,
        "hang_timeout_s": 600.0,
    }
    config = validate_config({"settings": settings, "instances": instances}, _resolve)
    # the default 200 ms group commit, hash chain and signed checkpoints as in Operations
    ledger = Ledger(root, host_key=load_or_create_host_key(root))
    ledger.open()
    diagnostics = Diagnostics(root)
    diagnostics.open()
    supervisor = Supervisor(root, config, ledger, diagnostics, resolve=_resolve)
    total = share * BLAST_AGENTS
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(ledger.run()), tg.create_task(diagnostics.run())]
        sup_task = tg.create_task(supervisor.run(autostart=True))
        try:
            async with asyncio.timeout(120):
                while any(s.state != "running" for s in supervisor.states()):
                    await asyncio.sleep(0.05)
            started = time.perf_counter()
            async with asyncio.timeout(300):  # a lost summary must not hang the suite
                await asyncio.gather(
                    *(supervisor.flush_agent(iid, timeout_s=120) for iid in instances)
                )
                # until the last record is written and fsynced (durable_seq names it; waiting
                # for "the next fsync" raced with an fsync that had already happened)
                while ledger.records_written < total or ledger.durable_seq < ledger.last_seq:
                    await asyncio.sleep(0.002)
            elapsed = time.perf_counter() - started
        finally:
            await supervisor.stop_all()
            sup_task.cancel()
            await asyncio.wait({sup_task})
            for task in tasks:
                task.cancel()
    return elapsed * n / total


def ingest_through_operations(n: int, tmp: Path) -> float:
    """Seconds for N summaries from real agents through Operations into the fsynced ledger."""
    return asyncio.run(_ingest(n, tmp))


def _idle_cost(ctx: BenchContext, n: int, window_s: float) -> list[Figure]:
    name = f"Operations idle CPU ({n} agents)"
    with ops_fleet(ctx.tmp_dir(f"idle-{n}"), n) as (root, pid):
        running = running_count(root, n)
        if running < n:
            reason = f"only {running}/{n} agents came up"
            return [unmeasured(name, "% of one core", reason), unmeasured(name, "MB", reason)]
        time.sleep(10.0)  # handshakes, first heartbeats and resource samples settle
        ops = psutil.Process(pid)
        samples: list[float] = []
        for _ in range(ctx.repeats):
            before = ops.cpu_times()
            started = time.monotonic()
            time.sleep(window_s / ctx.repeats)
            after = ops.cpu_times()
            busy = (after.user - before.user) + (after.system - before.system)
            samples.append(100.0 * busy / (time.monotonic() - started))
        rss_mb = ops.memory_info().rss / 2**20
    cpu = Measured(sorted(samples)[len(samples) // 2], samples)
    notes = (
        f"`mimolo ops` supervising {n} agent_template agents, heartbeat 15 s, "
        f"{window_s:g} s measured in {ctx.repeats} slices; Operations' own process only"
    )
    strict = n >= 200
    return [
        cpu.figure(
            name,
            "% of one core",
            target=f"< {IDLE_CPU_TARGET:g} %" if strict else "",
            verdict=below(cpu.median, IDLE_CPU_TARGET) if strict else "info",
            notes=notes,
        ),
        Measured(rss_mb, [rss_mb]).figure(
            f"Operations RSS ({n} agents)",
            "MB",
            target=f"< {IDLE_RSS_TARGET_MB:g} MB" if strict else "",
            verdict=below(rss_mb, IDLE_RSS_TARGET_MB) if strict else "info",
            notes="at the end of the window",
        ),
    ]


def run(ctx: BenchContext) -> list[Figure]:
    n = ctx.scale(full=50_000, quick=5_000)
    log(f"ingest: {n} summaries from {BLAST_AGENTS} agents through Operations")
    rate = ctx.median_of(lambda: n / ingest_through_operations(n, ctx.tmp_dir("ingest")))
    figures = [
        rate.figure(
            "ingest: summaries validated and journaled (hash-chained)",
            "summaries/s",
            target=f"≥ {INGEST_TARGET:g}/s",
            verdict=at_least(rate.median, INGEST_TARGET),
            notes=f"N={n} from {BLAST_AGENTS} real agent processes; Supervisor + Ledger on "
            "one event loop, fsync group commit every 200 ms; summary rate limit off",
        )
    ]
    window_s = float(ctx.scale(full=60, quick=15))
    for fleet in (50, 200) if not ctx.quick else (20,):
        figures += _idle_cost(ctx, fleet, window_s)
    return figures
