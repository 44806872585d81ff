"""screen_tracker: imaging, the store and timeouts in process; real captures under Xvfb."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mimolo.agents.screen_tracker.capture import (
    TimedCall,
    grab_monitor,
    parse_xdotool_geometry,
)
from mimolo.agents.screen_tracker.imaging import (
    Rect,
    encode,
    parse_regions,
    redact,
    shrink,
    target_size,
)
from mimolo.agents.screen_tracker.store import CaptureStore
from mimolo.agents.screen_tracker.worker import (
    MAX_RETRY_S,
    Capturer,
    CaptureSettings,
    retry_delay,
)
from mimolo.errors import CaptureTimeout, CaptureUnavailable, ConfigError
from mimolo.protocol.messages import HeartbeatMessage, SummaryMessage
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentDriver, is_type

from ._support import DEADLINE_S, agent_argv, driver_for, flush, is_health, logs, poll

NAME = "screen_tracker"
NOW = datetime(2026, 3, 4, 12, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "index"),
    [(["1,2,3"], 0), (["0,0,10,10", "a,b,c,d"], 1), (["-1,0,5,5"], 0), (["0,0,0,5"], 0)],
)
def test_bad_redact_regions_name_the_entry(raw: list[str], index: int) -> None:
    with pytest.raises(ConfigError) as err:
        parse_regions(raw)
    assert err.value.field == f"params.redact_regions[{index}]"


def test_redact_fills_clipped_regions_black() -> None:
    image = Image.new("RGB", (100, 50), (255, 255, 255))
    redact(image, [Rect(10, 10, 20, 20), Rect(90, 40, 50, 50)])
    assert image.getpixel((15, 15)) == (0, 0, 0)
    assert image.getpixel((29, 29)) == (0, 0, 0)
    assert image.getpixel((30, 30)) == (255, 255, 255)
    assert image.getpixel((99, 49)) == (0, 0, 0)  # clipped at the edge, no error
    assert image.getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("size", "scale", "cap", "expected"),
    [
        ((1920, 1080), 0.5, 1600, (960, 540)),
        ((3840, 2160), 1.0, 1600, (1600, 900)),
        ((100, 4000), 1.0, 1000, (25, 1000)),
        ((10, 10), 0.05, 1600, (1, 1)),
    ],
)
def test_target_size(
    size: tuple[int, int], scale: float, cap: int, expected: tuple[int, int]
) -> None:
    assert target_size(*size, scale=scale, max_dimension=cap) == expected


@pytest.mark.parametrize(
    ("fmt", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_encode_formats(fmt: Any, pil_format: str, tmp_path: Path) -> None:
    image = shrink(Image.new("RGB", (200, 100), (10, 200, 30)), scale=0.5, max_dimension=1600)
    data = encode(image, fmt, 70)
    (tmp_path / "x").write_bytes(data)
    with Image.open(tmp_path / "x") as decoded:
        assert decoded.format == pil_format
        assert decoded.size == (100, 50)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_writes_private_files_and_an_index(tmp_path: Path) -> None:
    instance = tmp_path / "inst"
    instance.mkdir(mode=0o700)
    store = CaptureStore(instance)
    data = b"\x89PNG fake bytes"
    record = store.save(data, extension="png", mime="image/png", width=4, height=3, captured_at=NOW)
    path = store.path_of(record)
    assert record.rel_path == f"2026/03/04/{record.artifact_id}.png"
    assert path.read_bytes() == data
    assert record.sha256 == hashlib.sha256(data).hexdigest() and record.bytes == len(data)
    assert mode(path) == 0o600
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent, instance / "index"):
        assert mode(folder) == 0o700
    index = instance / "index" / "20260304.jsonl"
    assert mode(index) == 0o600
    with index.open("ab") as fh:
        fh.write(b'{"torn": ')  # a torn last line is skipped, not fatal
    assert store.latest() == record
    assert store.read_index(NOW) == [record]
    ref = record.ref()
    assert set(ref) == {
        "artifact_id",
        "rel_path",
        "sha256",
        "bytes",
        "mime",
        "captured_at",
        "retention_class",
    }


def test_retry_delay_backs_off_and_is_capped() -> None:
    delays = [retry_delay(n, 300.0) for n in range(1, 12)]
    assert delays[0] == 8.0 and delays[1] == 16.0
    assert delays == sorted(delays)
    assert max(delays) == 300.0
    assert retry_delay(50, 86_400.0) == MAX_RETRY_S
    assert retry_delay(1, 1.0) == 1.0


def test_xdotool_geometry_parsing() -> None:
    rect = parse_xdotool_geometry("WINDOW=1\nX=10\nY=20\nWIDTH=300\nHEIGHT=200\nSCREEN=0\n")
    assert rect == Rect(10, 20, 300, 200)
    with pytest.raises(CaptureUnavailable):
        parse_xdotool_geometry("garbage")


def test_timed_call_abandons_a_hung_call_and_never_stacks_threads() -> None:
    release = threading.Event()
    call: TimedCall[int] = TimedCall("probe")
    with pytest.raises(CaptureTimeout):
        call(lambda: int(release.wait(30)), 0.05)
    with pytest.raises(CaptureTimeout, match="still hanging"):
        call(lambda: 1, 1.0)
    release.set()

    def attempt() -> int | None:
        try:
            return call(lambda: 7, 5.0)
        except CaptureTimeout:
            return None  # the released helper has not quite finished yet

    assert poll(attempt) == 7
    with pytest.raises(ZeroDivisionError):
        call(lambda: 1 // 0, 5.0)


def test_no_display_is_reported_as_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(CaptureUnavailable):
        grab_monitor(1)


def test_capture_under_xvfb_redacts_before_saving(
    xvfb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", xvfb)
    settings = CaptureSettings(
        image_format="png", scale=0.5, regions=(Rect(100, 100, 200, 100),), timeout_s=20
    )
    outcome = Capturer(settings, CaptureStore(tmp_path)).capture(NOW)
    assert outcome.degraded is None
    with Image.open(tmp_path / "artifacts" / outcome.record.rel_path) as image:
        assert image.size == (512, 384)
        rgb = image.convert("RGB")
        assert rgb.getpixel((100, 75)) == (0, 0, 0)  # inside the region, scaled by 0.5
        assert rgb.getpixel((10, 10)) == (255, 255, 255)
        assert rgb.getpixel((200, 200)) == (255, 255, 255)


def summaries_with_artifacts(driver: AgentDriver) -> list[dict[str, Any]]:
    return [
        m.data for m in driver.messages() if isinstance(m, SummaryMessage) and m.data["artifacts"]
    ]


def test_agent_captures_real_images_under_xvfb(data_dir: Path, xvfb: str) -> None:
    config = {
        "capture_interval_s": 1,
        "image_format": "png",
        "scale": 1.0,
        "redact_regions": ["0,0,50,40"],
    }
    with driver_for(NAME, data_dir, config, extra_env={"DISPLAY": xvfb}) as driver:
        instance = data_dir / "agents" / NAME / "inst-1"
        data = poll(lambda: flush(driver)["artifacts"] and summaries_with_artifacts(driver)[-1])
        assert data["schema"] == "screen_tracker.summary.v1"
        assert data["activity_signal"]["mode"] == "passive"
        assert data["degraded_reason"] is None
        mark = driver.mark()
        driver.send({"cmd": "widget_render", "args": {"request_id": "w1"}})
        frame = driver.wait_for(is_type("widget_frame"), DEADLINE_S, after=mark)
        summary_lines = [line.raw for line in driver.lines if line.type == "summary"]
    for ref in data["artifacts"]:
        path = instance / "artifacts" / ref["rel_path"]
        content = path.read_bytes()
        assert hashlib.sha256(content).hexdigest() == ref["sha256"]
        assert len(content) == ref["bytes"] and ref["mime"] == "image/png"
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
        with Image.open(path) as image:
            assert image.size == (1024, 768)
            rgb = image.convert("RGB")
            assert rgb.getpixel((10, 10)) == (0, 0, 0)
            assert rgb.getpixel((49, 39)) == (0, 0, 0)
            assert rgb.getpixel((60, 60)) == (255, 255, 255)
    assert all(len(raw) < 64 * 1024 for raw in summary_lines)  # references, never bytes
    assert frame is not None and frame.message is not None
    html = frame.message.data.html  # type: ignore[union-attr]
    assert 'src="mimolo://artifact/' in html and "data-artifact-id" in html
    index_lines = list((instance / "index").glob("*.jsonl"))
    assert index_lines and all(mode(p) == 0o600 for p in index_lines)


def test_active_window_without_xdotool_degrades_but_keeps_capturing(
    data_dir: Path, xvfb: str
) -> None:
    config = {"capture_interval_s": 1, "mode": "active_window"}
    path_env = {"DISPLAY": xvfb, "PATH": "/nonexistent"}  # no xdotool to be found
    with driver_for(NAME, data_dir, config, extra_env=path_env) as driver:
        status = driver.wait_for(is_health("degraded"), DEADLINE_S)
        assert status is not None and status.message is not None
        assert "xdotool" in str(status.message.message)
        data = poll(lambda: flush(driver)["artifacts"] and summaries_with_artifacts(driver)[-1])
        assert "full screen" in data["degraded_reason"]
        assert len(logs(driver, "xdotool")) == 1  # once per transition, not per capture


def test_without_a_display_it_degrades_and_keeps_heartbeating(data_dir: Path) -> None:
    config = {"capture_interval_s": 1}
    with driver_for(NAME, data_dir, config, drop_env=("DISPLAY", "WAYLAND_DISPLAY")) as driver:
        assert driver.wait_for(is_health("degraded"), DEADLINE_S) is not None

        def metrics() -> dict[str, Any]:
            line = driver.wait_for(is_type("heartbeat"), DEADLINE_S, after=driver.mark())
            assert line is not None and isinstance(line.message, HeartbeatMessage)
            assert isinstance(line.message.metrics, dict)
            return line.message.metrics

        # Retries keep failing while heartbeats keep flowing.
        latest = poll(lambda: (m := metrics())["failed_captures_total"] >= 2 and m)
        assert latest["capture_ok"] is False
        data = flush(driver)
        assert data["artifacts"] == [] and data["failed_captures"] >= 1
        assert len([m for m in logs(driver, "") if m.level == "warning"]) == 1
        assert driver.proc is not None and driver.proc.poll() is None


def test_invalid_region_exits_with_a_clear_message(data_dir: Path) -> None:
    with driver_for(NAME, data_dir, {"redact_regions": ["1,2,oops,4"]}) as driver:
        assert driver.wait_exit(DEADLINE_S) == 2
        assert driver.wait_stdout_closed(DEADLINE_S)
        assert b"params.redact_regions[0]" in driver.stderr


@pytest.mark.slow
def test_passes_the_conformance_checker(xvfb: str) -> None:
    report = run_check(
        agent_argv(NAME),
        CheckOptions(config={"capture_interval_s": 300, "scale": 0.25}),
        base_env={**os.environ, "DISPLAY": xvfb},
    )
    assert report.passed, [(r.check, r.result, r.detail) for r in report.rows]
