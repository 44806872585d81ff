"""desktop_activity against a real X session: Xvfb, openbox, xterm windows, focus and
input from xdotool; under AgentDriver and under a real ``mimolo ops`` (the ledger files
are grepped for what must never be there)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from control._live import running_ops, short_data_root, wait_for
from mimolo.agents.desktop_activity.backends import open_backend
from mimolo.agents.desktop_activity.x11_backend import X11Backend
from mimolo.dataroot import DataRoot
from mimolo.ipc.client import request_sync
from mimolo.protocol.messages import SummaryMessage, WidgetFrameMessage
from mimolo.sdk.conformance import CheckOptions, run_check
from mimolo.testing import AgentDriver, is_type

from ._support import DEADLINE_S, agent_argv, driver_for, flush, is_health
from .desktop.x11 import XSession, x_session

NAME = "desktop_activity"
# Each title ends in a word that no log line, key, pid, timestamp or digest can hold by
# chance: the privacy tests search every byte under the data root for it.
ALPHA = ("DeskAlpha", "alpha plain quokkaxylo")
BETA = ("DeskBeta", "beta ünïcode okapiyurt")
VAULT = ("DeskVault", "vault secret wombatzirc")


@pytest.fixture(scope="module")
def desk() -> Iterator[tuple[XSession, dict[str, int]]]:
    """One X session for the module with three windows (class -> window id)."""
    with x_session() as session:
        windows = {klass: session.window(klass, title)[0] for klass, title in (ALPHA, BETA, VAULT)}
        yield session, windows


def widget_html(driver: AgentDriver) -> str:
    mark = driver.mark()
    driver.send({"cmd": "widget_render", "args": {"request_id": "r"}})
    line = driver.wait_for(is_type("widget_frame"), DEADLINE_S, after=mark)
    assert line is not None and isinstance(line.message, WidgetFrameMessage)
    return line.message.data.html


def sees(driver: AgentDriver, application: str) -> bool:
    """Whether the agent's last sample had ``application`` focused (its widget says so)."""
    return f"Active: {application}" in widget_html(driver)


def start(driver: AgentDriver) -> None:
    """Wait until the (started) agent says it records through X11."""
    assert driver.wait_for(is_health("ok"), DEADLINE_S) is not None, driver.stderr


def test_the_backend_reads_focus_class_title_executable_and_idle(
    desk: tuple[XSession, dict[str, int]],
) -> None:
    session, windows = desk
    backend = X11Backend.open(session.display)
    try:
        session.activate(windows["DeskBeta"])
        sample = backend.sample()
        assert (sample.application, sample.title) == BETA
        assert sample.executable == "xterm"
        session.activate(windows["DeskAlpha"])
        assert backend.sample().application == "DeskAlpha"
        session.touch()
        assert backend.sample().idle_s is not None
        assert backend.limitation is None
    finally:
        backend.close()
        backend.close()


def test_auto_picks_x11_when_the_display_works(desk: tuple[XSession, dict[str, int]]) -> None:
    session, _ = desk
    opened = open_backend("auto", {"DISPLAY": session.display}, platform="linux")
    assert opened.backend is not None and opened.backend.name == "x11"
    opened.backend.close()
    refused = open_backend("x11", {"DISPLAY": ":4097"}, platform="linux")
    assert refused.backend is None and refused.retry
    assert refused.reason.startswith("no display: x11: cannot open X display :4097")


def test_a_vanished_window_is_a_sample_without_focus(
    desk: tuple[XSession, dict[str, int]],
) -> None:
    session, _ = desk
    wid, proc = session.window("DeskGone", "going away")
    session.activate(wid)
    backend = X11Backend.open(session.display)
    try:
        assert backend.sample().application == "DeskGone"
        proc.kill()
        proc.wait(timeout=DEADLINE_S)
        deadline = time.monotonic() + DEADLINE_S
        while backend.sample().application == "DeskGone":  # until the server drops it
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert backend.sample().application in (None, "DeskAlpha", "DeskBeta", "DeskVault")
    finally:
        backend.close()


def test_focus_switches_become_seconds_per_application(
    desk: tuple[XSession, dict[str, int]], data_dir: Path
) -> None:
    session, windows = desk
    config = {"sample_interval_s": 0.2, "idle_threshold_s": 3600}
    with driver_for(NAME, data_dir, config, extra_env={"DISPLAY": session.display}) as driver:
        start(driver)
        session.activate(windows["DeskAlpha"])
        wait_for(lambda: sees(driver, "DeskAlpha"), "the agent to see DeskAlpha")
        flush(driver)
        began = time.monotonic()
        time.sleep(3.0)
        session.activate(windows["DeskBeta"])
        alpha_for = time.monotonic() - began
        wait_for(lambda: sees(driver, "DeskBeta"), "the agent to see DeskBeta")
        time.sleep(1.0)
        data = flush(driver)
    seconds = {row["application"]: row for row in data["applications"]}
    assert data["state"] == "active" and data["backend"] == "x11"
    assert data["activity_signal"]["mode"] == "active"
    assert data["activity_signal"]["keep_alive"] is True
    alpha, beta = seconds["DeskAlpha"], seconds["DeskBeta"]
    # exact to the step, whatever the machine's speed: the agent counts what it saw
    assert alpha["seconds"] >= alpha_for - 0.5
    assert alpha["seconds"] > beta["seconds"] > 0
    assert alpha["executable"] == "xterm"
    assert alpha["titles"][0]["title"] == ALPHA[1]
    assert beta["titles"][0]["title"] == BETA[1]
    assert data["current"] == {"application": "DeskBeta", "title": BETA[1]}
    listed = sum(row["seconds"] for row in data["applications"])
    assert listed + data["other_s"] == pytest.approx(data["active_s"], abs=0.01)


def test_input_then_none_gives_active_then_idle_summaries(
    desk: tuple[XSession, dict[str, int]], data_dir: Path
) -> None:
    session, windows = desk
    session.activate(windows["DeskAlpha"])
    config = {"sample_interval_s": 0.2, "idle_threshold_s": 2}
    with driver_for(NAME, data_dir, config, extra_env={"DISPLAY": session.display}) as driver:
        start(driver)
        session.touch()
        wait_for(lambda: sees(driver, "DeskAlpha"), "the agent to see input")
        for _ in range(5):  # keep busy for a while, then stop
            session.touch()
            time.sleep(0.2)
        mark = driver.mark()
        line = driver.wait_for(is_type("summary"), DEADLINE_S, after=mark)
        assert line is not None and isinstance(line.message, SummaryMessage)
        active = line.message.data  # flushed by the agent at the idle transition
        assert active["state"] == "active"
        assert active["activity_signal"]["keep_alive"] is True
        assert active["active_s"] > 0 and active["idle_s"] == 0
        time.sleep(0.5)
        idle = flush(driver)
        assert idle["state"] == "idle"
        assert idle["activity_signal"]["mode"] == "passive"
        assert idle["activity_signal"]["keep_alive"] is False
        assert idle["idle_s"] > 0 and idle["active_s"] == 0 and idle["applications"] == []
        mark = driver.mark()
        session.touch()  # back: the idle window closes by itself
        line = driver.wait_for(is_type("summary"), DEADLINE_S, after=mark)
        assert line is not None and isinstance(line.message, SummaryMessage)
        assert line.message.data["state"] == "idle"
        assert flush(driver)["state"] == "active"


def _records(root: DataRoot) -> list[dict[str, Any]]:
    """Every JSON record in the data root's evidence files."""
    out: list[dict[str, Any]] = []
    for path in sorted(root.evidence_dir.rglob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def _summaries(root: DataRoot) -> list[dict[str, Any]]:
    """The desktop summaries' ``data`` in the ledger, in order."""
    found = []
    for record in _records(root):
        inner = record.get("record")
        data = inner.get("data") if isinstance(inner, dict) else None
        if isinstance(data, dict) and "applications" in data:
            found.append(data)
    return found


def _every_byte(root: DataRoot) -> bytes:
    """All files under the data root (ledger, diagnostics, logs, state), concatenated."""
    return b"".join(p.read_bytes() for p in sorted(root.root.rglob("*")) if p.is_file())


def _ops_config(params: str) -> str:
    return (
        "[settings]\nheartbeat_interval_s = 1.0\nagent_flush_interval_s = 1.0\n"
        "summary_rate_limit_per_s = 5.0\n"
        'stop_grace_s = 3.0\n\n[instances.desk]\ntemplate = "desktop_activity"\n'
        f'label = "Desk"\n\n[instances.desk.params]\nsample_interval_s = 0.2\n{params}'
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "absent", "present"),
    [
        ('exclude = ["secret"]\n', [VAULT[0], VAULT[1], "wombatzirc"], [ALPHA[0], ALPHA[1]]),
        (
            "record_titles = false\n",
            [ALPHA[1], BETA[1], VAULT[1], "quokkaxylo", "wombatzirc"],
            [ALPHA[0], VAULT[0]],
        ),
    ],
    ids=["exclude", "no_titles"],
)
def test_privacy_rules_keep_titles_out_of_every_file(
    desk: tuple[XSession, dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    params: str,
    absent: list[str],
    present: list[str],
) -> None:
    session, windows = desk
    monkeypatch.setenv("DISPLAY", session.display)
    with short_data_root() as root:
        with running_ops(root, _ops_config(params)) as ops:
            for klass in ("DeskAlpha", "DeskVault", "DeskAlpha"):
                session.activate(windows[klass])
                session.touch()
                time.sleep(1.0)

            def recorded() -> bool:
                text = json.dumps(_summaries(root))
                return all(name in text for name in (ALPHA[0],)) and any(
                    s["excluded_s"] > 0 or VAULT[0] in json.dumps(s) for s in _summaries(root)
                )

            try:
                wait_for(recorded, "desktop summaries in the ledger")
            except AssertionError:
                raise AssertionError(ops.console()) from None
        everything = _every_byte(root)
    for text in absent:
        assert text.encode() not in everything, text
    for text in present:
        assert text.encode() in everything, text


@pytest.mark.slow
def test_pause_and_resume_through_operations(
    desk: tuple[XSession, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, windows = desk
    monkeypatch.setenv("DISPLAY", session.display)
    with short_data_root() as root, running_ops(root, _ops_config("")) as ops:
        session.activate(windows["DeskBeta"])
        wait_for(lambda: any(s["active_s"] > 0 for s in _summaries(root)), "active summaries")
        answer = request_sync(root.socket_path, "pause_capture", minutes=None)
        assert answer["paused"] is True and answer["agents"] == {"desk": "acked"}, answer
        paused_at = len(_summaries(root))
        session.activate(windows["DeskVault"])  # seen by nobody
        session.touch()
        wait_for(
            lambda: any(
                s["state"] == "paused" and s["paused_s"] > 0.5 for s in _summaries(root)[paused_at:]
            ),
            "a paused summary",
        )
        session.activate(windows["DeskAlpha"])  # before the resume: Vault is never seen
        request_sync(root.socket_path, "resume_capture")
        session.touch()
        wait_for(
            lambda: any(
                s["state"] == "active" and "DeskAlpha" in json.dumps(s)
                for s in _summaries(root)[paused_at:]
            ),
            "active summaries after the resume",
        )
        assert ops.proc is not None and ops.proc.poll() is None
        ordered = _summaries(root)[paused_at:]
        for summary in ordered:
            if summary["state"] == "paused":
                assert summary["applications"] == [] and summary["current"] is None
                assert summary["activity_signal"]["keep_alive"] is False
        everything = _every_byte(root)
    assert b"DeskVault" not in everything and VAULT[1].encode() not in everything


@pytest.mark.slow
def test_passes_the_conformance_checker(desk: tuple[XSession, dict[str, int]]) -> None:
    session, _ = desk
    report = run_check(
        agent_argv(NAME),
        CheckOptions(config={}, max_idle_cpu_percent=5.0),
        base_env={**os.environ, "DISPLAY": session.display},
    )
    assert report.passed, [(r.check, r.result, r.detail) for r in report.rows]
