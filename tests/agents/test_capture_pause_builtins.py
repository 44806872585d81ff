"""The capturing built-ins honour the capture pause: no path, no screenshot while paused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mimolo.protocol.messages import AckMessage, HandshakeMessage, HeartbeatMessage
from mimolo.testing import AgentDriver, is_ack, is_type

from ._support import DEADLINE_S, driver_for, flush, is_log, poll


def handshake_caps(driver: AgentDriver) -> list[str]:
    line = driver.wait_for(is_type("handshake"), DEADLINE_S)
    assert line is not None and isinstance(line.message, HandshakeMessage), driver.stderr
    return list(line.message.capabilities)


def command(driver: AgentDriver, name: str, **args: Any) -> AckMessage:
    mark = driver.mark()
    driver.send({"cmd": name, "args": args})
    ack = driver.wait_for(is_ack(name), DEADLINE_S, after=mark)
    assert ack is not None and isinstance(ack.message, AckMessage), driver.stderr
    return ack.message


def test_client_folder_activity_records_no_path_while_paused(
    data_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "client-work"
    work.mkdir()
    config = {"watch_paths": [str(work)], "coalesce_window_s": 0.2}
    with driver_for("client_folder_activity", data_dir, config) as driver:
        assert "capture_pause" in handshake_caps(driver)
        assert driver.wait_for(is_log("watching"), DEADLINE_S) is not None
        (work / "before.txt").write_text("1")
        poll(lambda: flush(driver)["counts"]["total"] >= 1, step=0.3)
        assert command(driver, "pause_capture", until=None).data["paused"] is True
        mark = driver.mark()
        (work / "secret-plan.txt").write_text("2")
        (work / "before.txt").write_text("changed")
        paused = poll(lambda: [d for d in [flush(driver)] if d["dropped_events"] >= 2], step=0.3)
        assert paused[0]["counts"]["total"] == 0 and paused[0]["path_samples"] == []
        assert paused[0]["paused_s"] > 0
        during = b"".join(line.raw for line in driver.lines[mark:])
        assert command(driver, "resume_capture").data["paused"] is False
        (work / "after.txt").write_text("3")
        after = poll(lambda: [d for d in [flush(driver)] if d["counts"]["total"] >= 1], step=0.3)
        assert [s["path"] for s in after[0]["path_samples"]] == ["after.txt"]
    assert b"secret-plan" not in during and b"secret-plan" not in driver.stderr
    raw = b"".join(line.raw for line in driver.lines)
    assert b"secret-plan" not in raw


def captures_total(driver: AgentDriver, after: int) -> list[int]:
    return [
        int(m.metrics["captures_total"])
        for m in driver.messages(after)
        if isinstance(m, HeartbeatMessage) and isinstance(m.metrics, dict)
    ]


def test_screen_tracker_takes_no_screenshot_while_paused(data_dir: Path, xvfb: str) -> None:
    config = {"capture_interval_s": 1, "image_format": "png", "scale": 0.25}
    with driver_for("screen_tracker", data_dir, config, extra_env={"DISPLAY": xvfb}) as driver:
        assert "capture_pause" in handshake_caps(driver)
        poll(lambda: any(n >= 1 for n in captures_total(driver, 0)))
        command(driver, "pause_capture", until=None)
        mark = driver.mark()
        first = flush(driver)  # may hold one capture that began before the pause
        # four heartbeats (1 s apart) of a 1 s capture interval: a capture would show
        poll(lambda: len(captures_total(driver, mark)) >= 5, timeout=60)
        later = flush(driver)
        assert first["captures"] + later["captures"] <= 1
        assert later["captures"] == 0 and later["artifacts"] == []
        assert later["paused_s"] > 0
        before = captures_total(driver, mark)[-1]
        resumed = driver.mark()
        command(driver, "resume_capture")
        poll(lambda: any(n > before for n in captures_total(driver, resumed)), timeout=60)
