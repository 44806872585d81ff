"""The reporter runner against real (deliberately broken) reporter subprocesses."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError, ReportError
from mimolo.reports import run_report
from mimolo.timeline import Timeline

from .conftest import END, START

REPORTERS = Path(__file__).parent / "reporters"
PARAMS = {"from": START.isoformat(), "to": END.isoformat(), "format": "csv"}


def script(name: str, *extra: str) -> list[str]:
    return [sys.executable, str(REPORTERS / f"{name}.py"), *extra]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "code", "text"),
    [
        ("crash", "reporter_crashed", "boom in the reporter"),
        ("garbage", "reporter_garbage", "not JSON"),
        ("unknown_type", "reporter_garbage", "celebrate"),
        ("silent", "reporter_no_result", "without a result"),
        ("no_file", "reporter_no_output", "wrote nothing"),
        ("wrong_hash", "reporter_bad_result", "does not match"),
        ("error_line", "reporter_error", "no segments to bill"),
        ("huge_line", "reporter_garbage", "over 1048576 bytes"),
        ("elsewhere", "reporter_bad_result", "somewhere-else.txt"),
        ("chatty_after", "reporter_garbage", "after its final line"),
    ],
)
async def test_broken_reporter_gives_a_clear_error(
    data_root: DataRoot, acme: Timeline, name: str, code: str, text: str
) -> None:
    with pytest.raises(ReportError) as info:
        await run_report(data_root, "csv", PARAMS, acme.segments, argv=script(name))
    assert info.value.code == code
    assert text in str(info.value)


@pytest.mark.anyio
async def test_crash_shows_exit_status_and_stderr_tail(data_root: DataRoot) -> None:
    with pytest.raises(ReportError, match=r"(?s)status 3; stderr: Traceback.*RuntimeError"):
        await run_report(data_root, "csv", PARAMS, [], argv=script("crash"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (already dead, waiting to be reaped by init) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.anyio
async def test_timeout_kills_the_whole_process_group(data_root: DataRoot, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    progress: list[float] = []
    with pytest.raises(ReportError) as info:
        await run_report(
            data_root,
            "csv",
            PARAMS,
            [],
            lambda p, m: progress.append(p),
            timeout_s=4,
            argv=script("sleepy", str(pid_file)),
        )
    assert info.value.code == "reporter_timeout"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)
    assert progress == [5.0]


@pytest.mark.anyio
async def test_third_party_reporter_output_is_verified_and_made_private(
    data_root: DataRoot, acme: Timeline
) -> None:
    seen: list[tuple[float, str]] = []
    result = await run_report(
        data_root,
        "csv",
        PARAMS,
        acme.segments,
        lambda p, m: seen.append((p, m)),
        argv=script("echo_ok"),
    )
    path = Path(result.path)
    assert path.parent == data_root.reports_dir
    assert path.name == "csv-all-20260302-20260304.csv"
    assert path.read_text() == f"{len(acme.segments)} segments\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seen == [(50.0, "counted")]


@pytest.mark.anyio
async def test_bad_kind_and_format_are_config_errors(data_root: DataRoot) -> None:
    with pytest.raises(ConfigError, match="unknown report kind"):
        await run_report(data_root, "poem", PARAMS, [])
    with pytest.raises(ConfigError, match="format"):
        await run_report(data_root, "invoice", {**PARAMS, "format": "csv"}, [])
    with pytest.raises(ConfigError, match="'from'"):
        await run_report(data_root, "csv", {"format": "csv"}, [])


@pytest.mark.anyio
async def test_reporter_that_cannot_start_is_an_error(data_root: DataRoot) -> None:
    with pytest.raises(ReportError) as info:
        await run_report(
            data_root, "csv", PARAMS, [], argv=[sys.executable, "-c", "import sys; sys.exit(7)"]
        )
    assert info.value.code == "reporter_crashed"
