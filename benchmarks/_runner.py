"""Discover ``bench_*.py`` modules, run each in its own process, print and save the figures.

Each module runs in a child process (``python -m benchmarks._runner --child ...``) so one
benchmark's memory, threads, event loops or environment never colour the next one's figures,
and a hard crash or hang is reported as such instead of taking the whole run down.
Exit status: 0 when every module ran (missed targets included), 1 when any crashed or timed
out, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Literal

import msgspec
from rich.console import Console
from rich.table import Table

from benchmarks._core import BenchContext, Figure, Machine, describe_machine
from mimolo.process_group import stop_popen

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_JSON = BENCH_DIR / "results" / "latest.json"
# Known modules run in this order (cheap and foundational first, the peer comparison last);
# any other bench_*.py follows alphabetically.
PREFERRED_ORDER = (
    "bench_sdk",
    "bench_ops",
    "bench_ipc",
    "bench_timeline",
    "bench_agents",
    "bench_desktop",
    "bench_faults",
)
LAST = ("bench_peer",)
FULL_TIMEOUT_S = 1200.0
QUICK_TIMEOUT_S = 300.0

Status = Literal["ok", "crashed", "timeout"]


class ModuleResult(msgspec.Struct, kw_only=True):
    """What one benchmark module produced, or how it failed."""

    name: str
    status: Status
    seconds: float
    figures: list[Figure] = msgspec.field(default_factory=list)
    error: str = ""


class Report(msgspec.Struct, kw_only=True):
    """A whole run: where, when, in which mode, and every module's result."""

    started_at: str
    finished_at: str
    quick: bool
    repeats: int
    app_version: str
    git_commit: str
    machine: Machine
    modules: list[ModuleResult]

    @property
    def crashed(self) -> list[str]:
        """Names of modules that did not finish normally."""
        return [m.name for m in self.modules if m.status != "ok"]


def discover(bench_dir: Path = BENCH_DIR) -> list[Path]:
    """The ``bench_*.py`` files present, known names in their fixed order, others after."""
    found = {p.stem: p for p in bench_dir.glob("bench_*.py") if p.is_file()}
    first = [found.pop(n) for n in PREFERRED_ORDER if n in found]
    last = [found.pop(n) for n in LAST if n in found]
    return first + [found[n] for n in sorted(found)] + last


def select(modules: list[Path], only: Sequence[str]) -> list[Path]:
    """Keep the modules named in ``only`` (``peer`` or ``bench_peer``); unknown names raise."""
    if not only:
        return modules
    by_name = {p.stem: p for p in modules}
    wanted: list[Path] = []
    for raw in only:
        name = raw if raw.startswith("bench_") else f"bench_{raw}"
        name = name.removesuffix(".py")
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ValueError(f"no benchmark module {raw!r} (present: {known})")
        if by_name[name] not in wanted:
            wanted.append(by_name[name])
    return wanted


def _load(path: Path) -> ModuleType:
    """Import a benchmark module from its file (as ``benchmarks.<stem>`` when it is ours)."""
    name = f"benchmarks.{path.stem}" if path.parent == BENCH_DIR else f"_bench_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_in_process(path: Path, *, quick: bool, repeats: int | None) -> ModuleResult:
    """Import and run one module here; any exception becomes a ``crashed`` result."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mimolo-{path.stem}-") as tmp:
        try:
            module = _load(path)
            run = getattr(module, "run", None)
            if not callable(run):
                raise TypeError(f"{path.name} has no run(ctx) function")
            ctx = BenchContext(quick=quick, repeats=repeats, tmp_root=Path(tmp))
            figures = run(ctx)
            if not isinstance(figures, list) or not all(isinstance(f, Figure) for f in figures):
                raise TypeError(
                    f"{path.name}: run() returned {type(figures).__name__}, not list[Figure]"
                )
        except BaseException:  # a benchmark's crash is a result to report, not ours
            return ModuleResult(
                name=path.stem,
                status="crashed",
                seconds=time.perf_counter() - started,
                error=traceback.format_exc(limit=8),
            )
    return ModuleResult(
        name=path.stem, status="ok", seconds=time.perf_counter() - started, figures=figures
    )


def run_child(path: Path, *, quick: bool, repeats: int | None, timeout_s: float) -> ModuleResult:
    """Run one module in its own process group; its output goes to our stderr."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mimolo-bench-run-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, "-m", "benchmarks._runner", "--child", str(path), "--out", str(out)]
        if quick:
            argv.append("--quick")
        if repeats is not None:
            argv += ["--repeats", str(repeats)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        proc = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=sys.stderr, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc, path.stem)
            return ModuleResult(
                name=path.stem,
                status="timeout",
                seconds=time.perf_counter() - started,
                error=f"no result after {timeout_s:.0f} s; process group killed",
            )
        finally:
            _stop(proc, path.stem)  # nothing a benchmark started outlives it
        if out.exists():
            return msgspec.json.decode(out.read_bytes(), type=ModuleResult)
        return ModuleResult(
            name=path.stem,
            status="crashed",
            seconds=time.perf_counter() - started,
            error=f"exited with status {code} without writing a result",
        )


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    """Terminate, wait up to 5 s, then kill whatever is left in the child's process group."""
    stop_popen(proc, label=f"benchmark {name}", grace_s=5.0)


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def format_value(value: float | None, unit: str) -> str:
    """A readable number with its unit: thousands separated, small values to 3 digits."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 100 or (value.is_integer() and size < 1e15):
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%", "x") else f"{text} {unit}"


_VERDICT_STYLE = {"pass": "green", "fail": "red", "info": "cyan"}


def render(report: Report, console: Console) -> None:
    """Print the machine, the figures table and the notes."""
    m = report.machine
    console.print(
        f"[bold]Machine[/]: {m.cpu_model}, {m.logical_cores} logical cores "
        f"({m.physical_cores or '?'} physical), {m.memory_gb} GB, {m.python}, {m.os}"
    )
    mode = "quick" if report.quick else "full"
    table = Table(title=f"MiMoLo benchmarks ({mode}, median of {report.repeats})")
    for column in ("Module", "Figure", "Value", "Target", "Verdict"):
        table.add_column(column, overflow="fold")
    notes: dict[str, list[str]] = {}  # one line per distinct note, naming its figures
    for result in report.modules:
        module = result.name.removeprefix("bench_")
        if result.status != "ok":
            last = result.error.strip().splitlines()[-1:] or [""]
            table.add_row(module, "—", "", "", f"[red bold]{result.status}[/]")
            notes.setdefault(f"{result.status}: {last[0]}", []).append(module)
            continue
        for fig in result.figures:
            style = _VERDICT_STYLE.get(fig.verdict, "white")
            table.add_row(
                module,
                fig.name,
                format_value(fig.value, fig.unit),
                fig.target,
                f"[{style}]{fig.verdict}[/]",
            )
            if fig.notes:
                notes.setdefault(fig.notes, []).append(f"{module} / {fig.name}")
    console.print(table)
    for note, names in notes.items():
        console.print(f"• {'; '.join(names)}: {note}", markup=False, highlight=False)


def write_json(report: Report, path: Path) -> None:
    """Save the report (indented JSON), creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run", description="Run MiMoLo's benchmarks and report the figures."
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller N")
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="NAME", help="run only these (e.g. peer ops)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--repeats", type=int, default=None, help="override the repeat count")
    parser.add_argument("--timeout", type=float, default=None, help="per-module limit (s)")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument("--bench-dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Entry point of ``benchmarks/run``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        print("benchmarks/run: --repeats must be at least 1", file=sys.stderr)
        return 2
    if args.child is not None:
        result = run_in_process(args.child, quick=args.quick, repeats=args.repeats)
        if args.out is None:
            print(msgspec.json.encode(result).decode())
        else:
            args.out.write_bytes(msgspec.json.encode(result))
        if result.error:
            print(result.error, file=sys.stderr)
        return 0 if result.status == "ok" else 1
    if console is None:
        console = Console()
        if not console.is_terminal:  # a log file or pipe: do not squeeze the table into 80
            console = Console(width=160)
    try:
        modules = select(discover(args.bench_dir), args.only)
    except ValueError as exc:
        print(f"benchmarks/run: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for path in modules:
            console.print(path.stem)
        return 0
    timeout = args.timeout or (QUICK_TIMEOUT_S if args.quick else FULL_TIMEOUT_S)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[ModuleResult] = []
    for path in modules:
        print(f"== {path.stem}", file=sys.stderr, flush=True)
        result = run_child(path, quick=args.quick, repeats=args.repeats, timeout_s=timeout)
        print(f"== {path.stem}: {result.status} in {result.seconds:.1f} s", file=sys.stderr)
        results.append(result)
    from mimolo import APP_VERSION

    ctx_repeats = BenchContext(quick=args.quick, repeats=args.repeats, tmp_root=Path()).repeats
    report = Report(
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        quick=args.quick,
        repeats=ctx_repeats,
        app_version=APP_VERSION,
        git_commit=_git_commit(),
        machine=describe_machine(),
        modules=results,
    )
    render(report, console)
    write_json(report, args.json)
    console.print(f"Results written to {args.json}")
    if report.crashed:
        console.print(f"[red]Crashed or timed out: {', '.join(report.crashed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
