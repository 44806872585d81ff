"""The supervisor against real agent processes: handshakes, bad lines, crashes, hangs,
floods, the stop sequence, scheduled flushes, config changes and the widget hook."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from mimolo import APP_VERSION
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.protocol.commands import WidgetRenderCommand
from mimolo.protocol.messages import AgentMessage, WidgetFrameMessage
from operations.harness import ledger_records, make_config, running

pytestmark = pytest.mark.anyio


def commands(data_root: DataRoot, iid: str) -> list[dict[str, Any]]:
    path = data_root.instance_dir("scripted", iid) / "commands.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_handshake_accepted_env_and_instance_dir(data_root: DataRoot) -> None:
    config = make_config({"good-1": {"label": "Good one", "client_id": "acme"}})
    async with running(data_root, config) as h:
        state = await h.until_state("good-1", "running")
        assert state.protocol_version == "0.4"
        assert state.agent_version == "1.0.0"
        assert state.client_id == "acme"
        await h.until(lambda: len(commands(data_root, "good-1")) >= 1)
        ack = commands(data_root, "good-1")[0]
        assert ack["cmd"] == "ack" and ack["accepted"] is True
        assert ack["app_version"] == APP_VERSION
        inst = data_root.instance_dir("scripted", "good-1")
        env = json.loads((inst / "env.json").read_text())
        assert env["MIMOLO_INSTANCE_ID"] == env["MIMOLO_AGENT_ID"] == "good-1"
        assert env["MIMOLO_AGENT_LABEL"] == "Good one"
        assert env["MIMOLO_PLUGIN_ID"] == "scripted"
        assert env["MIMOLO_INSTANCE_DIR"] == str(inst)
        assert env["MIMOLO_DATA_DIR"] == str(data_root.root)
        assert json.loads(env["MIMOLO_AGENT_CONFIG"])["behavior"] == "good"
        assert float(env["MIMOLO_HEARTBEAT_INTERVAL_S"]) == 0.5
        assert float(env["MIMOLO_CPU_BUDGET_PERCENT"]) == 2.0
        assert not any("sock" in value for value in env.values())
        for sub in ("..", "", "artifacts", "index", "archives"):  # ".." is agents/<plugin_id>
            assert stat.S_IMODE((inst / sub).stat().st_mode) == 0o700
        # heartbeats make it healthy
        await h.until(lambda: h.supervisor.state("good-1").health == "healthy")


async def test_protocol_mismatch_is_rejected_and_not_restarted(data_root: DataRoot) -> None:
    config = make_config({"old": {"params": {"behavior": "bad_version"}}})
    async with running(data_root, config) as h:
        state = await h.until_state("old", "rejected")
        assert "9.9" in (state.last_error or "")
        assert commands(data_root, "old")[0] == {
            "cmd": "reject",
            "args": {},
            "reason": "protocol_version_mismatch",
        }
        assert state.restarts == 0 and state.pid is None
        assert h.supervisor.state("old").state == "rejected"


@pytest.mark.parametrize(
    ("behavior", "error"),
    [("silent", "no handshake within"), ("not_handshake", "bad handshake")],
)
async def test_handshake_failures_back_off_and_quarantine(
    data_root: DataRoot, behavior: str, error: str
) -> None:
    config = make_config(
        {"mute": {"params": {"behavior": behavior}}},
        start_timeout_s=1.0,
        quarantine_max_restarts=1,
    )
    async with running(data_root, config) as h:
        state = await h.until_state("mute", "quarantined")
        assert error in (state.last_error or "")
        assert state.health == "quarantined"
        lifecycle = h.diag("lifecycle", "mute")
        assert any(r.get("event") == "handshake_failed" for r in lifecycle)


async def test_bad_lines_are_counted_and_survived(data_root: DataRoot) -> None:
    config = make_config({"junk": {"params": {"behavior": "garbage"}}})
    async with running(data_root, config) as h:
        await h.until_state("junk", "running")
        await h.until(lambda: h.supervisor.state("junk").summaries >= 1)
        state = h.supervisor.state("junk")
        assert state.rejected_lines == {
            "not_json": 1,
            "invalid_utf8": 1,
            "not_object": 1,
            "missing_field": 1,
            "oversized": 1,
            "unknown_type": 1,
        }
        assert state.state == "running" and state.restarts == 0
        # the reader survived: the agent still answers
        await h.supervisor.flush_agent("junk")
        kinds = [(r["kind"], r.get("reason")) for r in h.diag(iid="junk")]
        assert ("unknown_message", "unknown_type") in kinds
        assert ("rejected_line", "oversized") in kinds
        assert ("rejected_line", "invalid_utf8") in kinds
        assert any(r["kind"] == "log" and "still alive" in r["message"] for r in h.diag())
        sample = next(r for r in h.diag("rejected_line") if r.get("reason") == "not_json")
        assert len(sample["sample"]) < 300
    records = ledger_records(data_root)
    assert len(records) == 3  # garbage's summary, the flush, the final stop summary
    assert all(r["record"]["type"] == "summary" for r in records)


async def test_crash_loop_backs_off_then_quarantines_until_started(data_root: DataRoot) -> None:
    config = make_config({"crashy": {"params": {"behavior": "crash"}}})
    async with running(data_root, config) as h:
        state = await h.until_state("crashy", "quarantined", timeout=60)
        assert state.restarts == 3
        assert "exited unexpectedly (code 3)" in (state.last_error or "")
        seen = [e.state for e in h.events if e.instance_id == "crashy"]
        assert "backoff" in seen
        (why,) = [e.detail for e in h.events if e.state == "quarantined"]
        assert why == "4 unexpected exits within 120s"  # 3 restarts, then the 4th exit
        policy = [r for r in h.diag("policy", "crashy") if r["decision"] == "quarantined"]
        assert len(policy) == 1
        # stays quarantined: no restart until the user acts
        before = len(h.events)
        await h.until(lambda: True)
        assert h.supervisor.state("crashy").state == "quarantined"
        assert all(e.instance_id != "crashy" for e in h.events[before:])
        started = await h.supervisor.start_agent("crashy")
        assert started.state in ("running", "backoff")
        assert started.health != "quarantined"


async def test_hung_agent_is_restarted(data_root: DataRoot) -> None:
    config = make_config(
        {"stuck": {"params": {"behavior": "hang"}}},
        hang_timeout_s=1.5,
        stop_grace_s=0.5,
    )
    async with running(data_root, config) as h:
        first = await h.until_state("stuck", "running")
        assert first.pid is not None
        await h.until(lambda: h.supervisor.state("stuck").restarts >= 1, timeout=60)
        assert "no output for 1.5s" in (h.supervisor.state("stuck").last_error or "")
        # the hung process ignored stdin and SIGTERM, so it was SIGKILLed
        await h.until(lambda: gone(first.pid or 0))
        assert any(r["decision"] == "hung_restart" for r in h.diag("policy", "stuck"))


async def test_log_flood_is_rate_limited_with_bounded_memory(data_root: DataRoot) -> None:
    config = make_config({"loud": {"params": {"behavior": "flood", "flood_bytes": 2000}}})
    async with running(data_root, config) as h:
        await h.until_state("loud", "running")
        await h.until(lambda: h.supervisor.state("loud").drop_counts.get("log", 0) > 5000)
        logs = h.diag("log", "loud")
        # burst 10 plus one per 3 s: a handful, never thousands
        assert len(logs) <= 20
        assert h.diagnostics.dropped == 0
        assert h.ledger.pending_count == 0
        state = h.supervisor.state("loud")
        assert state.drops >= state.drop_counts["log"] > 5000
        assert state.state == "running"
    # our own memory stayed bounded: flooding 10+ MB did not grow the process much
    assert psutil.Process().memory_info().rss < 500 * 2**20


async def test_summary_flood_over_the_limit_is_dropped_loudly(data_root: DataRoot) -> None:
    config = make_config(
        {"spam": {"params": {"behavior": "flood", "flood_summaries": True}}},
        summary_rate_limit_per_s=5.0,
        summary_rate_limit_burst=20,
    )
    async with running(data_root, config) as h:
        await h.until_state("spam", "running")
        await h.until(lambda: h.supervisor.state("spam").drop_counts.get("summary", 0) > 100)
        await h.until(lambda: any(r["counts"].get("summary") for r in h.diag("drops", "spam")))
        report = next(r for r in h.diag("drops", "spam") if r["counts"].get("summary"))
        assert report["level"] == "error" and report["counts"]["summary"] > 0
        assert report["totals"]["summary"] >= report["counts"]["summary"]
        assert h.supervisor.state("spam").summaries < 200


async def test_stop_sequence_order_seen_by_the_agent(data_root: DataRoot) -> None:
    config = make_config({"polite": {}})
    async with running(data_root, config) as h:
        state = await h.until_state("polite", "running")
        stopped = await h.supervisor.stop_agent("polite")
        assert stopped.state == "stopped" and stopped.pid is None
        assert gone(state.pid or 0)
        cmds = [c["cmd"] for c in commands(data_root, "polite")]
        assert cmds == ["ack", "sequence"]
        assert commands(data_root, "polite")[1]["sequence"] == ["stop", "flush", "shutdown"]
        acks = [r["ack_command"] for r in h.diag("ack", "polite")]
        assert acks == ["stop", "flush", "shutdown"]
        stop_record = next(r for r in h.diag("lifecycle", "polite") if r.get("event") == "stopped")
        assert stop_record["graceful"] is True and stop_record["returncode"] == 0
    # the final summary reached the ledger
    assert [r["instance_id"] for r in ledger_records(data_root)] == ["polite"]


async def test_scheduled_flushes_and_stderr_capture(data_root: DataRoot) -> None:
    config = make_config(
        {"ticker": {"flush_interval_s": 0.3, "params": {"behavior": "stderr"}}},
    )
    async with running(data_root, config) as h:
        await h.until_state("ticker", "running")
        await h.until(lambda: h.supervisor.state("ticker").summaries >= 3)
        lines = [r["line"] for r in h.diag("stderr", "ticker")]
        assert "warming up" in lines
        assert all(len(line) <= 4200 for line in lines)
        assert any(len(line) >= 4096 for line in lines)


async def test_missing_heartbeats_degrade_health(data_root: DataRoot) -> None:
    config = make_config({"mum": {"heartbeat_interval_s": 0.2, "params": {"behavior": "quiet"}}})
    async with running(data_root, config) as h:
        await h.until_state("mum", "running")
        await h.until(lambda: h.supervisor.state("mum").health == "degraded")
        await h.until(lambda: any(r.get("health") == "degraded" for r in h.diag("policy", "mum")))


async def test_cpu_hog_is_classified_over_budget(data_root: DataRoot) -> None:
    config = make_config(
        {"hog": {"cpu_budget_percent": 1.0, "params": {"behavior": "burn"}}},
        resource_sample_interval_s=0.3,
    )
    async with running(data_root, config) as h:
        await h.until_state("hog", "running")
        await h.until(lambda: h.supervisor.state("hog").health == "over_budget", timeout=60)
        state = h.supervisor.state("hog")
        assert state.cpu_percent is not None and state.cpu_percent > 1.0
        assert state.rss_mb is not None and state.rss_mb > 1
        assert any(r.get("decision") == "over_budget" for r in h.diag("policy", "hog"))


async def test_apply_config_reports_each_change(data_root: DataRoot) -> None:
    config = make_config({"keep": {}, "drop": {}, "edit": {}, "off": {"enabled": False}})
    async with running(data_root, config) as h:
        for iid in ("keep", "drop", "edit"):
            await h.until_state(iid, "running")
        assert h.supervisor.state("off").state == "stopped"
        old_pid = h.supervisor.state("edit").pid
        new = make_config(
            {
                "keep": {},
                "edit": {"label": "Edited"},
                "off": {"enabled": True},
                "fresh": {},
            }
        )
        result = await h.supervisor.apply_config(new)
        assert result == {
            "drop": "removed",
            "keep": "unchanged",
            "edit": "restarted",
            "off": "updated",
            "fresh": "added",
        }
        assert [s.instance_id for s in h.supervisor.states()] == ["keep", "edit", "off", "fresh"]
        assert h.supervisor.state("edit").pid != old_pid
        assert h.supervisor.state("edit").instance_label == "Edited"
        for iid in ("edit", "off", "fresh"):
            assert h.supervisor.state(iid).state == "running"
        with pytest.raises(MimoloError) as info:
            h.supervisor.state("drop")
        assert info.value.code == "unknown_instance"


async def test_changes_without_restart_wait_for_the_next_start(data_root: DataRoot) -> None:
    config = make_config({"edit": {"params": {"flood_bytes": 100}}})
    async with running(data_root, config) as h:
        first = await h.until_state("edit", "running")
        env_file = data_root.instance_dir("scripted", "edit") / "env.json"
        edited = make_config({"edit": {"params": {"flood_bytes": 7}}})
        assert await h.supervisor.apply_config(edited, restart=False) == {"edit": "restart_pending"}
        assert h.supervisor.state("edit").pid == first.pid  # left running as it was
        # a later, unrelated edit does not forget that the process runs the old config
        relabelled = make_config({"edit": {"label": "E", "params": {"flood_bytes": 7}}})
        assert await h.supervisor.apply_config(relabelled, restart=False) == {
            "edit": "restart_pending"
        }
        restarted = await h.supervisor.restart_agent("edit")
        assert restarted.pid != first.pid
        await h.until(lambda: json.loads(env_file.read_text())["MIMOLO_AGENT_LABEL"] == "E")
        env = json.loads(env_file.read_text())
        assert json.loads(env["MIMOLO_AGENT_CONFIG"])["flood_bytes"] == 7
        assert await h.supervisor.apply_config(relabelled) == {"edit": "unchanged"}


async def test_an_sdk_agent_exits_by_itself_on_the_stop_sequence(data_root: DataRoot) -> None:
    config = make_config({"sdk": {"template": "agent_example"}})
    async with running(data_root, config) as h:
        await h.until_state("sdk", "running")
        await h.supervisor.stop_agent("sdk")
        stop = next(r for r in h.diag("lifecycle", "sdk") if r.get("event") == "stopped")
        assert stop["graceful"] is True
        assert stop["returncode"] == 0  # not -15: it was not SIGTERMed while exiting


async def test_unknown_instance_and_not_running_errors(data_root: DataRoot) -> None:
    config = make_config({"idle": {"enabled": False}})
    async with running(data_root, config) as h:
        with pytest.raises(MimoloError) as info:
            await h.supervisor.start_agent("nope")
        assert info.value.code == "unknown_instance"
        with pytest.raises(MimoloError) as info:
            await h.supervisor.flush_agent("idle")
        assert info.value.code == "agent_not_running"


class _Hook:
    def __init__(self) -> None:
        self.manifests: list[tuple[str, object]] = []
        self.delivered: list[AgentMessage] = []
        self.forgotten: list[str] = []

    def note_manifest(self, instance_id: str, manifest: object) -> None:
        self.manifests.append((instance_id, manifest))

    def deliver(self, instance_id: str, message: AgentMessage) -> bool:
        self.delivered.append(message)
        return True

    def forget(self, instance_id: str) -> None:
        self.forgotten.append(instance_id)


async def test_widget_request_and_message_hook(data_root: DataRoot) -> None:
    config = make_config({"w": {}})
    hook = _Hook()
    async with running(data_root, config, autostart=False) as h:
        h.supervisor.message_hook = hook
        await h.supervisor.start_agent("w")
        answer = await h.supervisor.request(
            "w", WidgetRenderCommand(args={"request_id": "r1"}), "r1", timeout_s=20
        )
        assert isinstance(answer, WidgetFrameMessage)
        assert answer.data.request_id == "r1" and answer.data.html == "<p>hi</p>"
        assert hook.manifests == [("w", None)]
        assert [type(m).__name__ for m in hook.delivered] == ["WidgetFrameMessage"]
        await h.supervisor.stop_agent("w")
        assert hook.forgotten == ["w"]


@pytest.fixture(autouse=True)
def _no_leftover_agents() -> Iterator[None]:
    """Every agent a test started is gone when it ends."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    after = {p.pid for p in psutil.Process().children(recursive=True)} - before
    alive = [pid for pid in after if not gone(pid)]
    assert not alive, f"leftover agent processes: {alive}"


def test_scripted_agent_exists() -> None:
    assert Path(__file__).with_name("agents").joinpath("scripted.py").exists()
    assert os.access(Path(__file__).with_name("agents") / "scripted.py", os.R_OK)


async def test_an_endless_line_is_output_not_a_hang(data_root: DataRoot) -> None:
    """Bytes that never end a line still show the agent is alive: it is not restarted as
    hung (its silent heartbeats make it degraded instead), and nothing is delivered."""
    config = make_config({"stream": {"params": {"behavior": "endless"}}}, hang_timeout_s=1.0)
    async with running(data_root, config) as h:
        await h.until_state("stream", "running")
        await asyncio.sleep(4.0)  # four hang timeouts
        state = h.supervisor.state("stream")
        assert (state.state, state.restarts) == ("running", 0)
        assert state.health == "degraded"
        assert not any(r["decision"] == "hung_restart" for r in h.diag("policy", "stream"))
