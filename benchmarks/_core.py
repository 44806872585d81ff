"""The benchmark interface: what a ``bench_<topic>.py`` module returns and what it is given.

A benchmark module exposes ``run(ctx: BenchContext) -> list[Figure]``. ``benchmarks/run``
discovers every ``benchmarks/bench_*.py``, runs each in its own process and reports the
figures. Verdicts are reported, never asserted: a missed target is a ``fail`` row, not a
crash. Every figure is the median of ``ctx.repeats`` measurements (after a warm-up).

    from benchmarks._core import BenchContext, Figure, at_least

    def run(ctx: BenchContext) -> list[Figure]:
        n = ctx.scale(full=20_000, quick=2_000)
        measured = ctx.median_of(lambda: n / ctx.time_call(lambda: ingest(n)))
        return [measured.figure("ingest", "summaries/s", target="≥ 20000/s",
                                verdict=at_least(measured.median, 20_000))]
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeAlias

import msgspec
import psutil

Verdict: TypeAlias = Literal["pass", "fail", "info"]

QUICK_REPEATS = 3
FULL_REPEATS = 5


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One reported number: a median with its samples, a target and whether it was met."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    verdict: Verdict = "info"
    notes: str = ""
    samples: list[float] = msgspec.field(default_factory=list)
    repeats: int = 1


class Measured(msgspec.Struct, frozen=True):
    """The median of repeated measurements, kept with the samples it came from."""

    median: float
    samples: list[float]

    def figure(
        self,
        name: str,
        unit: str,
        *,
        target: str = "",
        verdict: Verdict = "info",
        notes: str = "",
    ) -> Figure:
        """Turn the measurement into a reported figure."""
        return Figure(
            name=name,
            value=self.median,
            unit=unit,
            target=target,
            verdict=verdict,
            notes=notes,
            samples=list(self.samples),
            repeats=len(self.samples),
        )


class Machine(msgspec.Struct, frozen=True, kw_only=True):
    """The machine a run happened on, printed above the table and stored in the JSON."""

    cpu_model: str
    logical_cores: int
    physical_cores: int | None
    memory_gb: float
    python: str
    os: str


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe_machine() -> Machine:
    """CPU model, cores, memory, Python and OS of this machine."""
    return Machine(
        cpu_model=_cpu_model(),
        logical_cores=os.cpu_count() or 1,
        physical_cores=psutil.cpu_count(logical=False),
        memory_gb=round(psutil.virtual_memory().total / 2**30, 1),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        os=f"{platform.system()} {platform.release()}",
    )


def median(samples: list[float]) -> float:
    """The median of a non-empty sample list."""
    if not samples:
        raise ValueError("median of no samples")
    return float(statistics.median(samples))


def at_least(value: float | None, bound: float) -> Verdict:
    """``pass`` when a higher-is-better value reaches its bound (``fail`` when unmeasured)."""
    return "pass" if value is not None and value >= bound else "fail"


def below(value: float | None, bound: float) -> Verdict:
    """``pass`` when a lower-is-better value stays under its bound (``fail`` when unmeasured)."""
    return "pass" if value is not None and value < bound else "fail"


def unmeasured(name: str, unit: str, reason: str, *, target: str = "") -> Figure:
    """A figure that could not be measured here, with the reason; never a made-up number."""
    return Figure(name=name, value=None, unit=unit, target=target, verdict="info", notes=reason)


class BenchContext:
    """What a benchmark module is given: mode, repeat count, temp dirs and measuring helpers."""

    def __init__(self, *, quick: bool, repeats: int | None = None, tmp_root: Path) -> None:
        self.quick = quick
        self.repeats = (
            repeats if repeats is not None else (QUICK_REPEATS if quick else FULL_REPEATS)
        )
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        self.tmp_root = tmp_root
        self._tmp_count = 0

    def scale(self, *, full: int, quick: int) -> int:
        """The problem size for this mode (smaller N in quick mode)."""
        return quick if self.quick else full

    def tmp_dir(self, prefix: str = "bench") -> Path:
        """A fresh owner-only directory, removed when the module's run ends."""
        self._tmp_count += 1
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-{self._tmp_count}-", dir=self.tmp_root))
        path.chmod(0o700)
        return path

    @staticmethod
    def time_call(fn: Callable[[], object]) -> float:
        """Wall-clock seconds one call of ``fn`` takes (garbage collected beforehand)."""
        gc.collect()
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    def median_of(
        self, fn: Callable[[], float], repeats: int | None = None, *, warmup: int = 1
    ) -> Measured:
        """Call ``fn`` (which returns one measurement) ``warmup`` times unrecorded, then
        ``repeats`` times (default ``ctx.repeats``), and keep the median."""
        for _ in range(warmup):
            fn()
        count = repeats if repeats is not None else self.repeats
        samples = [float(fn()) for _ in range(max(1, count))]
        return Measured(median(samples), samples)


def log(message: str) -> None:
    """Progress for the person watching a long run; goes to stderr, never into results."""
    print(f"  · {message}", file=sys.stderr, flush=True)


__all__ = [
    "FULL_REPEATS",
    "QUICK_REPEATS",
    "BenchContext",
    "Figure",
    "Machine",
    "Measured",
    "Verdict",
    "at_least",
    "below",
    "describe_machine",
    "log",
    "median",
    "unmeasured",
]
