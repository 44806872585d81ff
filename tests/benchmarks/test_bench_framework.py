"""The benchmark framework: measuring helpers, discovery, the table, the JSON, exit codes.

Benchmark modules here are tiny files written into a temp directory; nothing heavy runs.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `benchmarks`

from benchmarks._core import (
    BenchContext,
    Figure,
    Measured,
    at_least,
    below,
    describe_machine,
    median,
    unmeasured,
)
from benchmarks._runner import (
    Report,
    discover,
    format_value,
    main,
    select,
)

PASSING = """
from benchmarks._core import BenchContext, Figure, at_least

def run(ctx: BenchContext) -> list[Figure]:
    n = ctx.scale(full=1000, quick=10)
    m = ctx.median_of(lambda: float(n))
    return [
        m.figure("size", "items", target="≥ 5", verdict=at_least(m.median, 5), notes="quick N"),
        Figure(name="missed", value=3.0, unit="ms", target="< 1 ms", verdict="fail"),
    ]
"""

CRASHING = """
def run(ctx):
    raise RuntimeError("the disk caught fire")
"""


def write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def run_main(args: list[str]) -> tuple[int, str]:
    buffer = io.StringIO()
    code = main(args, console=Console(file=buffer, width=240, color_system=None))
    return code, buffer.getvalue()


def load_report(path: Path) -> Report:
    return msgspec.json.decode(path.read_bytes(), type=Report)


# measuring helpers


def test_median_of_odd_and_even_sample_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_verdict_helpers_fail_when_unmeasured() -> None:
    assert at_least(20_000, 20_000) == "pass"
    assert at_least(19_999.9, 20_000) == "fail"
    assert at_least(None, 1) == "fail"
    assert below(0.5, 1.0) == "pass"
    assert below(1.0, 1.0) == "fail"
    assert below(None, 1.0) == "fail"


def test_unmeasured_figure_carries_the_reason_and_no_number() -> None:
    fig = unmeasured("peer ingest", "events/s", "pip failed: no network", target="faster")
    assert fig.value is None
    assert fig.verdict == "info"
    assert "pip failed" in fig.notes


def test_median_of_warms_up_then_keeps_every_sample(tmp_path: Path) -> None:
    calls: list[int] = []

    def measure() -> float:
        calls.append(1)
        return float(len(calls))

    ctx = BenchContext(quick=False, repeats=4, tmp_root=tmp_path)
    measured = ctx.median_of(measure, warmup=2)
    assert len(calls) == 6  # 2 warm-ups, 4 recorded
    assert measured.samples == [3.0, 4.0, 5.0, 6.0]
    assert measured.median == 4.5
    fig = measured.figure("x", "s", verdict="info")
    assert fig.repeats == 4
    assert fig.samples == [3.0, 4.0, 5.0, 6.0]


def test_context_defaults_scale_and_rejects_zero_repeats(tmp_path: Path) -> None:
    quick = BenchContext(quick=True, tmp_root=tmp_path)
    full = BenchContext(quick=False, tmp_root=tmp_path)
    assert quick.repeats < full.repeats
    assert quick.scale(full=20_000, quick=2_000) == 2_000
    assert full.scale(full=20_000, quick=2_000) == 20_000
    with pytest.raises(ValueError):
        BenchContext(quick=True, repeats=0, tmp_root=tmp_path)


def test_tmp_dirs_are_fresh_and_owner_only(tmp_path: Path) -> None:
    ctx = BenchContext(quick=True, tmp_root=tmp_path)
    first, second = ctx.tmp_dir("ledger"), ctx.tmp_dir("ledger")
    assert first != second
    assert first.parent == tmp_path
    assert first.stat().st_mode & 0o777 == 0o700


def test_time_call_measures_a_positive_duration() -> None:
    assert BenchContext.time_call(lambda: sum(range(1000))) > 0


def test_machine_description_is_filled_in() -> None:
    machine = describe_machine()
    assert machine.logical_cores >= 1
    assert machine.memory_gb > 0
    assert machine.python.startswith(("CPython", "PyPy"))
    assert machine.cpu_model


def test_figure_round_trips_through_json() -> None:
    fig = Measured(2.0, [1.0, 2.0, 3.0]).figure("p99", "ms", target="< 10 ms", verdict="pass")
    assert msgspec.json.decode(msgspec.json.encode(fig), type=Figure) == fig


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (None, "ms", "—"),
        (23456.7, "summaries/s", "23,457 summaries/s"),
        (12.345, "ms", "12.3 ms"),
        (2.345, "x", "2.35x"),
        (0.012345, "%", "0.0123%"),
        (5.0, "", "5"),
        (5.5, "", "5.50"),
    ],
)
def test_values_are_formatted_for_reading(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


# discovery and selection


def test_discovery_orders_known_modules_first_and_the_peer_last(tmp_path: Path) -> None:
    for name in ("bench_peer", "bench_zeta", "bench_ops", "bench_sdk", "bench_alpha"):
        write_module(tmp_path, name, "def run(ctx): return []\n")
    write_module(tmp_path, "_helpers", "")
    write_module(tmp_path, "benchmark_not_me", "")
    names = [p.stem for p in discover(tmp_path)]
    assert names == ["bench_sdk", "bench_ops", "bench_alpha", "bench_zeta", "bench_peer"]


def test_the_repository_modules_are_discovered() -> None:
    names = [p.stem for p in discover()]
    assert all(n.startswith("bench_") for n in names)
    assert "bench_peer" in names
    assert names[-1] == "bench_peer"


def test_select_accepts_short_and_full_names_and_rejects_unknown(tmp_path: Path) -> None:
    for name in ("bench_ops", "bench_peer"):
        write_module(tmp_path, name, "def run(ctx): return []\n")
    modules = discover(tmp_path)
    assert [p.stem for p in select(modules, ["peer", "bench_ops", "peer"])] == [
        "bench_peer",
        "bench_ops",
    ]
    assert select(modules, []) == modules
    with pytest.raises(ValueError, match="no benchmark module 'nope'"):
        select(modules, ["nope"])


# whole runs (each module in a child process)


def test_a_run_prints_the_table_and_writes_json_and_exits_zero_on_missed_targets(
    tmp_path: Path,
) -> None:
    bench_dir = tmp_path / "benches"
    bench_dir.mkdir()
    write_module(bench_dir, "bench_good", PASSING)
    out = tmp_path / "results" / "latest.json"
    code, text = run_main(["--quick", "--bench-dir", str(bench_dir), "--json", str(out)])
    assert code == 0, text
    assert "Machine" in text
    assert "size" in text
    assert "10 items" in text
    assert "pass" in text
    assert "fail" in text  # a missed target is reported, not raised
    assert "quick N" in text  # notes are printed
    report = load_report(out)
    assert report.quick is True
    assert report.repeats == 3
    assert report.crashed == []
    (module,) = report.modules
    assert module.status == "ok"
    size, missed = module.figures
    assert (size.value, size.unit, size.verdict, size.repeats) == (10.0, "items", "pass", 3)
    assert missed.verdict == "fail"
    raw = json.loads(out.read_text())
    assert raw["machine"]["logical_cores"] >= 1


def test_a_crashing_module_gives_a_nonzero_exit_and_the_others_still_run(tmp_path: Path) -> None:
    write_module(tmp_path, "bench_good", PASSING)
    write_module(tmp_path, "bench_broken", CRASHING)
    write_module(tmp_path, "bench_norun", "X = 1\n")
    write_module(tmp_path, "bench_wrongtype", "def run(ctx):\n    return {'not': 'a list'}\n")
    out = tmp_path / "out.json"
    code, text = run_main(["--quick", "--bench-dir", str(tmp_path), "--json", str(out)])
    assert code == 1
    assert "crashed" in text
    assert "the disk caught fire" in text
    statuses = {m.name: m for m in load_report(out).modules}
    assert statuses["bench_good"].status == "ok"
    assert statuses["bench_broken"].status == "crashed"
    assert "RuntimeError: the disk caught fire" in statuses["bench_broken"].error
    assert "no run(ctx) function" in statuses["bench_norun"].error
    assert "not list[Figure]" in statuses["bench_wrongtype"].error


def test_a_hanging_module_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    write_module(tmp_path, "bench_hang", "import time\ndef run(ctx):\n    time.sleep(600)\n")
    out = tmp_path / "out.json"
    code, text = run_main(
        ["--quick", "--bench-dir", str(tmp_path), "--json", str(out), "--timeout", "2"]
    )
    assert code == 1
    (module,) = load_report(out).modules
    assert module.status == "timeout"
    assert "timeout" in text


def test_only_runs_the_named_module(tmp_path: Path) -> None:
    write_module(tmp_path, "bench_good", PASSING)
    write_module(tmp_path, "bench_broken", CRASHING)
    out = tmp_path / "out.json"
    code, _ = run_main(
        ["--quick", "--bench-dir", str(tmp_path), "--json", str(out), "--only", "good"]
    )
    assert code == 0
    assert [m.name for m in load_report(out).modules] == ["bench_good"]


@pytest.mark.parametrize(
    "args", [["--only", "missing"], ["--repeats", "0"]], ids=["unknown-module", "zero-repeats"]
)
def test_usage_errors_exit_two_and_run_nothing(tmp_path: Path, args: list[str]) -> None:
    write_module(tmp_path, "bench_good", PASSING)
    out = tmp_path / "out.json"
    code, _ = run_main(["--bench-dir", str(tmp_path), "--json", str(out), *args])
    assert code == 2
    assert not out.exists()


def test_list_names_the_modules_without_running_them(tmp_path: Path) -> None:
    write_module(tmp_path, "bench_broken", CRASHING)
    code, text = run_main(["--bench-dir", str(tmp_path), "--list"])
    assert code == 0
    assert "bench_broken" in text
