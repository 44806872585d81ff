"""desktop_activity without X: idle over a real D-Bus session bus (dbus-daemon) with an
idle monitor of the tests' own, and no display at all (degraded, no crash, no activity)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mimolo.agents.desktop_activity.backends import open_backend
from mimolo.agents.desktop_activity.dbus_backend import MUTTER, SCREENSAVER, DbusIdleBackend
from mimolo.errors import CaptureUnavailable
from mimolo.protocol.messages import StatusMessage, SummaryMessage
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import is_type

from ._support import DEADLINE_S, agent_argv, driver_for, flush, is_health
from .desktop.dbus_session import SILENT_POLICY, idle_monitor, session_bus

NAME = "desktop_activity"
NO_DESKTOP = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")


@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus, named in this process's environment."""
    with session_bus(tmp_path / "bus") as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        yield address


@pytest.mark.parametrize("source", [MUTTER, SCREENSAVER], ids=["mutter", "screensaver"])
def test_idle_comes_from_the_session_bus(bus: str, source: object) -> None:
    assert source is MUTTER or source is SCREENSAVER
    with idle_monitor(bus, source) as service:
        service.touch(idle_s=42.0)
        backend = DbusIdleBackend.open()
        try:
            assert backend.source is source
            sample = backend.sample()
            assert sample.idle_s == pytest.approx(42.0, abs=2.0)
            assert (sample.application, sample.title) == (None, None)
            assert backend.limitation == "focus is unavailable on this compositor"
        finally:
            backend.close()
            backend.close()


def test_a_bus_without_an_idle_monitor_is_refused_with_the_reason(bus: str) -> None:
    with pytest.raises(CaptureUnavailable, match="no idle monitor on the session bus"):
        DbusIdleBackend.open()
    opened = open_backend("auto")
    assert opened.backend is None and opened.retry
    assert "no idle monitor" in opened.reason


def test_a_bus_that_never_answers_is_refused_within_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_bus(tmp_path / "silent", policy=SILENT_POLICY) as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        with pytest.raises(CaptureUnavailable, match="did not answer within"):
            DbusIdleBackend.open()


def test_auto_prefers_dbus_on_a_wayland_session(bus: str) -> None:
    with idle_monitor(bus):
        env = {**os.environ, "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":4099"}
        opened = open_backend("auto", env, platform="linux")
        assert opened.backend is not None and opened.backend.name == "dbus"
        opened.backend.close()


@pytest.mark.parametrize(
    ("choice", "env", "platform", "reason"),
    [
        ("auto", {}, "linux", "no display: DISPLAY is not set; no session bus"),
        ("x11", {}, "linux", "no display: DISPLAY is not set"),
        ("dbus", {"DISPLAY": ":0"}, "linux", "no display: no session bus"),
        ("auto", {"DISPLAY": ":0"}, "darwin", "unsupported platform: darwin"),
        ("none", {"DISPLAY": ":0"}, "linux", "backend = none: nothing is recorded"),
    ],
)
def test_no_backend_says_why(choice: str, env: dict[str, str], platform: str, reason: str) -> None:
    opened = open_backend(choice, env, platform=platform)
    assert (opened.backend, opened.reason) == (None, reason)


def test_the_agent_over_dbus_is_degraded_for_focus_and_tracks_idle(
    bus: str, data_dir: Path
) -> None:
    config = {"sample_interval_s": 0.2, "idle_threshold_s": 30}
    with idle_monitor(bus) as service:
        service.touch()
        env = {"DBUS_SESSION_BUS_ADDRESS": bus}
        with driver_for(NAME, data_dir, config, extra_env=env, drop_env=NO_DESKTOP[:2]) as driver:
            status = driver.wait_for(is_health("degraded"), DEADLINE_S)
            assert status is not None and isinstance(status.message, StatusMessage)
            assert status.message.message == "dbus: focus is unavailable on this compositor"
            deadline = time.monotonic() + DEADLINE_S
            while service.calls < 3:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            active = flush(driver)
            assert active["backend"] == "dbus" and active["state"] == "active"
            assert active["activity_signal"]["keep_alive"] is True
            assert active["applications"] == [] and active["current"] is None
            mark = driver.mark()
            service.touch(idle_s=3600.0)  # nobody at the keyboard for an hour
            line = driver.wait_for(is_type("summary"), DEADLINE_S, after=mark)
            assert line is not None and isinstance(line.message, SummaryMessage)
            assert line.message.data["state"] == "active"  # closed at the transition
            idle = flush(driver)
            assert idle["state"] == "idle"
            assert idle["activity_signal"]["mode"] == "passive"


def test_no_display_and_no_bus_is_degraded_without_a_crash(data_dir: Path) -> None:
    config = {"sample_interval_s": 0.2}
    with driver_for(NAME, data_dir, config, drop_env=NO_DESKTOP) as driver:
        status = driver.wait_for(is_health("degraded"), DEADLINE_S)
        assert status is not None and isinstance(status.message, StatusMessage)
        assert status.message.message == "no display: DISPLAY is not set; no session bus"
        time.sleep(1.0)
        data = flush(driver)
        assert data["state"] == "no_display" and data["backend"] == "none"
        assert data["activity_signal"]["mode"] == "passive"
        assert data["activity_signal"]["keep_alive"] is False
        assert data["activity_signal"]["reason"] == status.message.message
        assert data["active_s"] == data["idle_s"] == 0 and data["applications"] == []
        assert driver.proc is not None and driver.proc.poll() is None


def test_a_bad_exclude_rule_exits_with_a_clear_message(data_dir: Path) -> None:
    with driver_for(NAME, data_dir, {"exclude": ["ok", "(broken"]}, drop_env=NO_DESKTOP) as d:
        assert d.wait_exit(DEADLINE_S) == 2
        assert d.wait_stdout_closed(DEADLINE_S)
        assert b"params.exclude[1]" in d.stderr
        assert b"not a regular expression" in d.stderr


@pytest.mark.slow
def test_passes_the_conformance_checker_without_a_display() -> None:
    env = {k: v for k, v in os.environ.items() if k not in NO_DESKTOP}
    report = run_check(agent_argv(NAME), CheckOptions(config={}), base_env=env)
    assert report.passed, [(r.check, r.result, r.detail) for r in report.rows]
