"""desktop_activity's logic in process on a virtual clock: attribution to the sampling
step, flushes at idle and pause transitions, privacy at capture, no display, lost display.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimolo.agents.desktop_activity.agent import DesktopActivityAgent
from mimolo.agents.desktop_activity.backends import Opened
from mimolo.errors import ConfigError
from mimolo.protocol.codec import encode_message
from mimolo.protocol.messages import (
    AckMessage,
    AgentMessage,
    HandshakeMessage,
    StatusMessage,
    SummaryMessage,
    WidgetFrameMessage,
)
from mimolo.protocol.widget_html import sanitize_fragment
from mimolo.testing import AgentHarness

from .desktop.scripted import ScriptedDesktop, harness

STEP = 1.0


def summaries(messages: list[AgentMessage]) -> list[dict[str, Any]]:
    return [m.data for m in messages if isinstance(m, SummaryMessage)]


def flush(h: AgentHarness) -> dict[str, Any]:
    out = h.send({"cmd": "flush", "id": "f"})
    (data,) = summaries(out)
    return data


def length(data: dict[str, Any]) -> float:
    window = data["window"]
    start = datetime.fromisoformat(window["start"])
    end = datetime.fromisoformat(window["end"])
    return (end - start).total_seconds()


def apps(data: dict[str, Any]) -> dict[str, float]:
    return {row["application"]: row["seconds"] for row in data["applications"]}


def wire(messages: list[AgentMessage]) -> bytes:
    return b"\n".join(encode_message(m) for m in messages)


def test_handshake_declares_capture_pause_and_widget() -> None:
    h, _ = harness()
    (hello,) = [m for m in h.sent if isinstance(m, HandshakeMessage)]
    assert "capture_pause" in hello.capabilities
    assert "widget" in hello.capabilities
    assert hello.data["sample_interval_s"] == 1.0


def test_sample_interval_is_the_instance_parameter() -> None:
    h, desk = harness({"sample_interval_s": 0.5})
    h.advance(10)
    assert desk.samples == pytest.approx(21, abs=1)  # on_start + one per 0.5 s
    assert DesktopActivityAgent.sample_interval_s == 1.0  # the class is untouched


def test_focus_switches_give_seconds_per_application_exact_to_the_step() -> None:
    h, desk = harness({"idle_threshold_s": 600})
    desk.focus("Editor", "notes.txt")
    h.advance(10)
    desk.focus("Browser", "docs")
    h.advance(4)
    desk.focus("Editor", "todo.txt")
    h.advance(3)
    data = flush(h)
    assert data["state"] == "active"
    assert data["activity_signal"]["mode"] == "active"
    assert data["activity_signal"]["keep_alive"] is True
    assert data["backend"] == "x11"
    seconds = apps(data)
    assert seconds["Editor"] == pytest.approx(13, abs=2 * STEP)
    assert seconds["Browser"] == pytest.approx(4, abs=2 * STEP)
    assert data["active_s"] == pytest.approx(length(data), abs=STEP)
    editor = data["applications"][0]
    assert editor["application"] == "Editor"
    assert editor["executable"] == "editor"
    assert {t["title"] for t in editor["titles"]} == {"notes.txt", "todo.txt"}
    assert data["current"] == {"application": "Editor", "title": "todo.txt"}
    assert data["idle_s"] == data["paused_s"] == data["excluded_s"] == 0


def test_idle_after_the_threshold_closes_the_active_window_by_itself() -> None:
    h, desk = harness({"idle_threshold_s": 5})
    desk.touch()
    out = h.advance(20)
    (active,) = summaries(out)  # flushed at the transition, not by a command
    assert active["state"] == "active"
    assert active["activity_signal"]["keep_alive"] is True
    assert active["active_s"] == pytest.approx(5, abs=STEP)
    assert active["idle_s"] == 0
    idle = flush(h)
    assert idle["state"] == "idle"
    assert idle["activity_signal"] == {
        "mode": "passive",
        "keep_alive": False,
        "reason": "no input for 5 s or more",
    }
    assert idle["active_s"] == 0
    assert idle["applications"] == []
    assert idle["current"] is None
    assert idle["idle_s"] == pytest.approx(15, abs=STEP)
    desk.touch()  # back at the keyboard: the idle window closes at the next sample
    (back,) = summaries(h.advance(1.0))
    assert back["state"] == "idle"
    assert flush(h)["state"] == "active"


def test_pause_and_resume_close_windows_and_sample_nothing_meanwhile() -> None:
    h, desk = harness({"idle_threshold_s": 600})
    desk.focus("Editor", "secret plans")
    h.advance(5)
    out = h.send({"cmd": "pause_capture", "id": "p", "args": {"until": None}})
    (before,) = summaries(out)
    assert before["state"] == "active" and before["paused_s"] == 0
    assert any(isinstance(m, AckMessage) and m.ack_command == "pause_capture" for m in out)
    taken = desk.samples
    desk.focus("Mail", "inbox: private")
    h.advance(30)
    assert desk.samples == taken  # the backend is not even asked while paused
    mid = flush(h)
    assert mid["state"] == "paused"
    assert mid["paused_s"] == pytest.approx(length(mid), abs=0.01)
    assert mid["activity_signal"]["mode"] == "passive"
    h.advance(10)
    out = h.send({"cmd": "resume_capture", "id": "r", "args": {}})
    (paused,) = summaries(out)
    assert paused["state"] == "paused"
    assert paused["paused_s"] == pytest.approx(10, abs=0.01)
    assert paused["applications"] == [] and paused["current"] is None
    assert b"inbox: private" not in wire(h.sent)
    h.advance(3)
    after = flush(h)
    assert after["state"] == "active"
    assert apps(after) == {"Mail": pytest.approx(3, abs=STEP)}


def test_a_pause_with_until_ends_by_itself_on_the_agent_clock() -> None:
    h, _desk = harness({"idle_threshold_s": 600})
    until = h.clock.now().timestamp() + 20
    iso_until = datetime.fromtimestamp(until, h.clock.now().tzinfo).isoformat()
    h.send({"cmd": "pause_capture", "id": "p", "args": {"until": iso_until}})
    out = h.advance(30)
    (paused,) = summaries(out)
    assert paused["state"] == "paused"
    assert paused["paused_s"] == pytest.approx(20, abs=STEP)
    after = flush(h)
    assert after["state"] == "active"
    assert after["active_s"] == pytest.approx(10, abs=STEP)


def test_excluded_time_keeps_no_application_and_no_title() -> None:
    h, desk = harness({"exclude": ["(?i)bank", "^Vault$"], "idle_threshold_s": 600})
    desk.focus("Browser", "My Bank - account 1234")
    h.advance(6)
    desk.focus("Vault", "passwords")
    h.advance(4)
    desk.focus("Editor", "report")
    h.advance(2)
    h.send({"cmd": "widget_render", "id": "w", "args": {"request_id": "w1"}})
    data = flush(h)
    assert data["excluded_s"] == pytest.approx(10, abs=2 * STEP)
    assert set(apps(data)) == {"Editor"}
    assert data["active_s"] + data["excluded_s"] == pytest.approx(length(data), abs=STEP)
    sent = wire(h.sent)
    for secret in (b"Bank", b"1234", b"Vault", b"passwords"):
        assert secret not in sent


def test_record_titles_false_records_the_application_only() -> None:
    h, desk = harness({"record_titles": False, "idle_threshold_s": 600})
    desk.focus("Editor", "salary negotiation.txt")
    h.advance(5)
    h.send({"cmd": "widget_render", "id": "w", "args": {"request_id": "w1"}})
    data = flush(h)
    assert data["applications"] == [
        {"application": "Editor", "executable": "editor", "seconds": pytest.approx(5, abs=STEP)}
    ]
    assert data["current"] == {"application": "Editor", "title": None}
    assert b"salary" not in wire(h.sent)


def test_titles_are_cut_to_the_cap_and_flattened() -> None:
    h, desk = harness({"title_max_length": 10, "idle_threshold_s": 600})
    desk.focus("Editor", "a very\nlong\ttitle indeed")
    h.advance(2)
    data = flush(h)
    titles = [t["title"] for t in data["applications"][0]["titles"]]
    assert "a very lo…" in titles  # (the first step still held the title seen at start)
    assert all(len(t) <= 10 for t in titles)


def test_top_n_keeps_the_biggest_and_sums_the_rest() -> None:
    h, desk = harness({"top_n": 2, "idle_threshold_s": 600})
    for name, seconds in (("A", 5), ("B", 4), ("C", 3), ("D", 2)):
        desk.focus(name, f"{name} title")
        h.advance(seconds)
    data = flush(h)
    assert [row["application"] for row in data["applications"]] == ["A", "B"]
    listed = sum(row["seconds"] for row in data["applications"])
    assert listed + data["other_s"] == pytest.approx(data["active_s"], abs=0.01)
    assert data["other_s"] == pytest.approx(5, abs=2 * STEP)


def test_no_display_is_degraded_and_never_claims_activity() -> None:
    def none(desk: ScriptedDesktop) -> Any:
        return lambda choice: Opened(None, "no display: DISPLAY is not set", retry=False)

    h, _desk = harness(opener=none)
    statuses = [m for m in h.sent if isinstance(m, StatusMessage)]
    assert statuses[-1].health == "degraded"
    assert statuses[-1].message == "no display: DISPLAY is not set"
    h.advance(30)
    data = flush(h)
    assert data["state"] == "no_display"
    assert data["backend"] == "none"
    assert data["activity_signal"]["mode"] == "passive"
    assert data["activity_signal"]["keep_alive"] is False
    assert data["activity_signal"]["reason"] == "no display: DISPLAY is not set"
    assert data["active_s"] == data["idle_s"] == data["excluded_s"] == 0
    assert data["applications"] == [] and data["current"] is None


def test_a_lost_display_is_degraded_then_retried_with_backoff() -> None:
    h, desk = harness({"idle_threshold_s": 600})
    h.advance(3)
    desk.lost = True
    desk.available = False
    out = h.advance(1)
    (active,) = summaries(out)  # the active window closes where the display went away
    assert active["state"] == "active" and active["backend"] == "x11"
    assert desk.closed == 1
    lost = [m for m in out if isinstance(m, StatusMessage)][-1]
    assert lost.health == "degraded" and "X connection lost" in str(lost.message)
    opens = desk.opens
    h.advance(100)
    retries = desk.opens - opens
    assert 2 <= retries <= 6  # 2, 4, 8, 16, 32, then every 60 s: backoff, not a spin
    desk.available = True
    out = h.advance(61)
    healthy = [m for m in out if isinstance(m, StatusMessage)][-1]
    assert healthy.health == "ok"
    summary = summaries(out)[-1]
    assert summary["state"] == "no_display" and summary["active_s"] == 0
    h.advance(2)
    assert flush(h)["state"] == "active"


def test_a_backend_limitation_is_degraded_health_with_its_message() -> None:
    def idle_only(desk: ScriptedDesktop) -> Any:
        desk.name = "dbus"
        desk.application = desk.title = desk.executable = None
        desk.limitation = "focus is unavailable on this compositor"
        return desk.opener

    h, _desk = harness(opener=idle_only)
    (status,) = [m for m in h.sent if isinstance(m, StatusMessage)]
    assert (status.health, status.message) == (
        "degraded",
        "dbus: focus is unavailable on this compositor",
    )
    h.advance(5)
    data = flush(h)
    assert data["state"] == "active" and data["backend"] == "dbus"
    assert data["applications"] == [] and data["current"] is None


def test_the_widget_shows_now_today_and_escapes() -> None:
    h, desk = harness({"idle_threshold_s": 600})
    desk.focus("<b>Ed</b>", "<script>x</script>")
    h.advance(120)
    desk.focus("Browser", "docs")
    h.advance(30)
    out = h.send({"cmd": "widget_render", "id": "w", "args": {"request_id": "w1"}})
    (frame,) = [m for m in out if isinstance(m, WidgetFrameMessage)]
    html = frame.data.html
    assert "Active: Browser" in html
    assert "&lt;b&gt;Ed&lt;/b&gt;" in html and "<script>" not in html
    assert "2 min" in html
    assert sanitize_fragment(html) == html  # only allowed tags and widget classes
    h.send({"cmd": "pause_capture", "id": "p", "args": {}})
    out = h.send({"cmd": "widget_render", "id": "w", "args": {"request_id": "w2"}})
    (frame,) = [m for m in out if isinstance(m, WidgetFrameMessage)]
    assert "Recording paused" in frame.data.html
    assert "Browser" in frame.data.html  # today's totals stay


@pytest.mark.parametrize(
    ("pattern", "field"),
    [("(unclosed", "params.exclude[0]"), ("", "params.exclude[0]")],
)
def test_a_bad_exclude_rule_is_a_clear_config_error(pattern: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        harness({"exclude": [pattern]})
    assert caught.value.field == field


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(min_value=0.1, max_value=30)),
        st.tuples(st.just("focus"), st.sampled_from(["A", "B", "Secret", None])),
        st.tuples(st.just("touch"), st.none()),
        st.tuples(st.just("pause"), st.none()),
        st.tuples(st.just("resume"), st.none()),
        st.tuples(st.just("flush"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(events=EVENTS, step=st.sampled_from([0.5, 1.0, 2.0]))
def test_every_window_conserves_time_and_holds_one_state(
    events: list[tuple[str, Any]], step: float
) -> None:
    h, desk = harness({"sample_interval_s": step, "idle_threshold_s": 10, "exclude": ["Secret"]})
    for kind, arg in events:
        if kind == "advance":
            h.advance(arg)
        elif kind == "focus":
            desk.focus(arg, f"{arg} title" if arg else None)
        elif kind == "touch":
            desk.touch()
        elif kind == "pause":
            h.send({"cmd": "pause_capture", "args": {"until": None}})
        elif kind == "resume":
            h.send({"cmd": "resume_capture", "args": {}})
        else:
            h.send({"cmd": "flush"})
    h.send({"cmd": "flush"})
    for data in summaries(h.sent):
        counted = data["active_s"] + data["idle_s"] + data["paused_s"] + data["excluded_s"]
        assert counted == pytest.approx(length(data), abs=step + 0.01)
        spans = [data["active_s"] + data["excluded_s"], data["idle_s"], data["paused_s"]]
        assert sum(1 for s in spans if s > 0.0015) <= 1, data
        listed = sum(row["seconds"] for row in data["applications"])
        assert listed + data["other_s"] <= data["active_s"] + 0.01  # (no focus: no app)
        assert (data["activity_signal"]["mode"] == "active") == (data["state"] == "active")
        assert "Secret" not in str(data)
