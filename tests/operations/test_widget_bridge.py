"""The widget bridge: correlation by request id, preflight, artifact exchange, cache, audit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import WidgetError
from mimolo.operations.artifact_tokens import ArtifactTokenStore
from mimolo.operations.widget_bridge import WidgetBridge
from mimolo.operations.widget_preflight import MAX_FRAME_BYTES
from mimolo.protocol.codec import decode_message, encode_command
from mimolo.protocol.commands import AckCommand, AgentCommand
from mimolo.protocol.messages import (
    AckMessage,
    AgentMessage,
    ErrorMessage,
    HandshakeMessage,
    SummaryMessage,
    WidgetFrameData,
    WidgetFrameMessage,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PLUGIN, INSTANCE = "screen_tracker", "screen-1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Diagnostics that keep records in memory (the bridge only writes)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def record(
        self, kind: str, *, instance_id: str | None = None, level: Any = None, **fields: Any
    ) -> None:
        self.records.append({"kind": kind, "instance_id": instance_id, "level": level, **fields})

    def tail(self, limit: int = 200, *, instance_id: str | None = None) -> list[dict[str, Any]]:
        return self.records[-limit:]


def envelope() -> dict[str, Any]:
    return {
        "timestamp": datetime.now(UTC),
        "agent_id": INSTANCE,
        "agent_label": "Screen",
        "agent_version": "1.0.0",
    }


Responder = Callable[[AgentCommand], AgentMessage | None]


class ScriptedAgent:
    """The agent side of ``send``: answers each command via ``respond`` on the next tick."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.sent: list[AgentCommand] = []
        self.bridge: WidgetBridge | None = None

    async def send(self, instance_id: str, command: AgentCommand) -> None:
        self.sent.append(command)
        reply = self.respond(command)
        if reply is not None and self.bridge is not None:
            asyncio.get_running_loop().call_soon(self.bridge.deliver, instance_id, reply)


def frame(html: str, ttl_ms: int = 5000) -> Responder:
    def respond(command: AgentCommand) -> AgentMessage:
        rid = command.args["request_id"]
        data = WidgetFrameData(request_id=rid, html=html, ttl_ms=ttl_ms, state_token="s1")
        return WidgetFrameMessage(**envelope(), data=data)

    return respond


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_bridge(
    data_root: DataRoot, respond: Responder, clock: FakeClock, recorder: Recorder
) -> tuple[WidgetBridge, ScriptedAgent]:
    agent = ScriptedAgent(respond)
    bridge = WidgetBridge(
        data_root,
        send=agent.send,
        tokens=ArtifactTokenStore(data_root, clock=clock),
        diagnostics=recorder,
        clock=clock,
        render_timeout_s=0.5,
        action_timeout_s=0.5,
    )
    agent.bridge = bridge
    return bridge, agent


def put_artifact(root: DataRoot, rel: str) -> None:
    path = root.instance_dir(PLUGIN, INSTANCE) / "artifacts" / rel
    ensure_private_dir(path.parent)
    path.write_bytes(PNG)


# ---- the bridge with a scripted agent -------------------------------------------


@pytest.mark.anyio
async def test_render_exchanges_refs_caches_and_audits(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    put_artifact(data_root, "shots/a.png")
    bridge, agent = make_bridge(
        data_root,
        frame('<figure><img src="mimolo://artifact/shots/a.png"></figure>'),
        clock,
        recorder,
    )
    first, cached = await bridge.render(INSTANCE, PLUGIN)
    assert not cached
    assert "shots/a.png" not in first.html
    token = first.html.split("mimolo://artifact/")[1].split('"')[0]
    resolved = bridge.tokens.resolve(token, instance_id=INSTANCE)
    assert resolved.rel_path == "shots/a.png"
    assert (first.images, first.ttl_ms, first.state_token) == (1, 5000, "s1")

    again, cached = await bridge.render(INSTANCE, PLUGIN)
    assert cached and again.request_id == first.request_id
    assert len(agent.sent) == 1
    clock.now += 5.0  # ttl_ms elapsed
    fresh, cached = await bridge.render(INSTANCE, PLUGIN)
    assert not cached and fresh.request_id != first.request_id
    _forced, cached = await bridge.render(INSTANCE, PLUGIN, force=True)
    assert not cached and len(agent.sent) == 3

    audits = [r for r in recorder.records if r["action"] == "widget_render"]
    assert len(audits) == 3
    assert all(r["kind"] == "audit" and r["outcome"] == "ok" for r in audits)
    assert audits[0]["bytes"] > 0 and "duration_ms" in audits[0]
    assert agent.sent[0].args["request_id"] == first.request_id


@pytest.mark.anyio
async def test_ttl_is_clamped(data_root: DataRoot, clock: FakeClock, recorder: Recorder) -> None:
    bridge, _ = make_bridge(data_root, frame("<p>x</p>", ttl_ms=10**9), clock, recorder)
    rendered, _ = await bridge.render(INSTANCE, PLUGIN)
    assert rendered.ttl_ms == 60_000


@pytest.mark.anyio
async def test_widget_not_supported(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    def respond(command: AgentCommand) -> AgentMessage:
        rid = command.args["request_id"]
        return ErrorMessage(**envelope(), message="widget_not_supported", data={"request_id": rid})

    bridge, _ = make_bridge(data_root, respond, clock, recorder)
    with pytest.raises(WidgetError) as caught:
        await bridge.render(INSTANCE, PLUGIN)
    assert caught.value.code == "widget_not_supported"
    assert recorder.records[-1]["outcome"] == "widget_not_supported"


@pytest.mark.anyio
async def test_silent_agent_times_out_and_late_frame_is_dropped(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    bridge, agent = make_bridge(data_root, lambda _c: None, clock, recorder)
    with pytest.raises(WidgetError) as caught:
        await bridge.render(INSTANCE, PLUGIN)
    assert caught.value.code == "render_timeout"
    late = frame("<p>late</p>")(agent.sent[0])
    assert late is not None
    assert bridge.deliver(INSTANCE, late) is False
    assert bridge.cached(INSTANCE) is None


@pytest.mark.parametrize(
    ("html", "code"),
    [
        ("x" * (MAX_FRAME_BYTES + 1), "render_payload_too_large"),
        ('<img src="http://example.invalid/x.png">', "render_validation_failed"),
        ('<img src="mimolo://artifact/../screen-2/artifacts/a.png">', "render_validation_failed"),
        ('<img src="mimolo://artifact/missing.png">', "render_validation_failed"),
        ('<img src="mimolo://artifact/page.html">', "render_validation_failed"),
    ],
)
@pytest.mark.anyio
async def test_bad_frames_fail_with_code_and_are_not_cached(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder, html: str, code: str
) -> None:
    bridge, _ = make_bridge(data_root, frame(html), clock, recorder)
    with pytest.raises(WidgetError) as caught:
        await bridge.render(INSTANCE, PLUGIN)
    assert caught.value.code == code
    assert bridge.cached(INSTANCE) is None
    assert recorder.records[-1]["outcome"] == code


@pytest.mark.anyio
async def test_archived_artifact_asks_for_rehydration(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    archives = ensure_private_dir(data_root.instance_dir(PLUGIN, INSTANCE) / "archives")
    (archives / "2026-01.zip").write_bytes(b"PK")
    bridge, _ = make_bridge(
        data_root, frame('<img src="mimolo://artifact/old.png">'), clock, recorder
    )
    with pytest.raises(WidgetError) as caught:
        await bridge.render(INSTANCE, PLUGIN)
    assert caught.value.code == "archived_data_rehydrate_required"


@pytest.mark.anyio
async def test_action_waits_for_ack_and_drops_the_cache(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    def respond(command: AgentCommand) -> AgentMessage:
        rid = command.args["request_id"]
        if command.args.get("action"):
            return AckMessage(**envelope(), ack_command="widget_action", data={"request_id": rid})
        return frame("<p>x</p>")(command)  # type: ignore[return-value]

    bridge, agent = make_bridge(data_root, respond, clock, recorder)
    await bridge.render(INSTANCE, PLUGIN)
    assert bridge.cached(INSTANCE) is not None
    result = await bridge.action(INSTANCE, "refresh")
    assert result["action"] == "refresh"
    assert agent.sent[-1].args["action"] == "refresh"
    assert bridge.cached(INSTANCE) is None
    assert recorder.records[-1]["action"] == "widget_action"
    assert recorder.records[-1]["outcome"] == "ok"


@pytest.mark.anyio
async def test_action_errors_and_timeouts_carry_codes(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    def refuse(command: AgentCommand) -> AgentMessage:
        rid = command.args["request_id"]
        return ErrorMessage(
            **envelope(), message="no", data={"request_id": rid, "code": "unsupported_action"}
        )

    bridge, _ = make_bridge(data_root, refuse, clock, recorder)
    with pytest.raises(WidgetError) as caught:
        await bridge.action(INSTANCE, "dance")
    assert caught.value.code == "unsupported_action"
    with pytest.raises(WidgetError) as invalid:
        await bridge.action(INSTANCE, "Bad Action!")
    assert invalid.value.code == "invalid_action"
    silent, _ = make_bridge(data_root, lambda _c: None, clock, recorder)
    with pytest.raises(WidgetError) as timeout:
        await silent.action(INSTANCE, "refresh")
    assert timeout.value.code == "action_timeout"


@pytest.mark.anyio
async def test_forget_fails_waiters_and_revokes_tokens(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    bridge, _ = make_bridge(data_root, lambda _c: None, clock, recorder)
    bridge.render_timeout_s = 20.0
    bridge.note_manifest(INSTANCE, {"supports_render": True})
    assert bridge.manifest(INSTANCE) == {"supports_render": True}
    grant = bridge.tokens.issue(PLUGIN, INSTANCE, "a.png")
    task = asyncio.create_task(bridge.render(INSTANCE, PLUGIN))
    for _ in range(100):
        if bridge._waiters:
            break
        await asyncio.sleep(0.01)
    bridge.forget(INSTANCE)
    with pytest.raises(WidgetError) as caught:
        await task
    assert caught.value.code == "render_failed"
    assert bridge.manifest(INSTANCE) is None
    assert len(bridge.tokens) == 0 and grant.token


def test_deliver_ignores_unrelated_messages(data_root: DataRoot, clock: FakeClock) -> None:
    bridge, _ = make_bridge(data_root, lambda _c: None, clock, Recorder())
    assert not bridge.deliver(INSTANCE, AckMessage(**envelope(), ack_command="flush"))
    assert not bridge.deliver(INSTANCE, ErrorMessage(**envelope(), message="x"))
    summary = SummaryMessage(**envelope(), data={"request_id": "r"})
    assert not bridge.deliver(INSTANCE, summary)


# ---- a real SDK agent subprocess --------------------------------------------------

AGENT_SOURCE = textwrap.dedent(
    """
    from typing import Any, ClassVar
    from mimolo.sdk import BaseAgent, WidgetRequest

    class WidgetAgent(BaseAgent):
        plugin_id: ClassVar[str] = "widget_probe"
        agent_version: ClassVar[str] = "1.0.0"
        sample_interval_s: ClassVar[float | None] = None

        def snapshot(self, now: Any) -> Any:
            return None

        def summarize(self, snapshot: Any, start: Any, end: Any) -> dict[str, Any]:
            return {}

        def render_widget(self, request: WidgetRequest) -> str | None:
            return '<div><img src="mimolo://artifact/shot.png"><p>probe</p></div>'

    WidgetAgent.main()
    """
)


class AgentPipe:
    """A real agent subprocess whose stdout is pumped into the bridge."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.messages: list[AgentMessage] = []

    async def send(self, instance_id: str, command: AgentCommand) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(encode_command(command))
        await self.process.stdin.drain()

    async def pump(self, bridge: WidgetBridge, instance_id: str) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = decode_message(line)
            self.messages.append(message)
            if isinstance(message, HandshakeMessage):
                bridge.note_manifest(instance_id, message.data.get("widget_manifest"))
            bridge.deliver(instance_id, message)


@pytest.fixture
async def agent_pipe(tmp_path: Path, data_root: DataRoot) -> AsyncIterator[AgentPipe]:
    script = tmp_path / "widget_probe.py"
    script.write_text(AGENT_SOURCE)
    env = dict(os.environ, MIMOLO_AGENT_ID="probe-1", MIMOLO_INSTANCE_ID="probe-1")
    env.update(MIMOLO_PLUGIN_ID="widget_probe", MIMOLO_AGENT_LABEL="Probe")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        yield AgentPipe(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if process.stdin is not None:
            process.stdin.close()


@pytest.mark.anyio
async def test_real_agent_render_and_refresh(
    agent_pipe: AgentPipe, data_root: DataRoot, recorder: Recorder
) -> None:
    instance = "probe-1"
    path = data_root.instance_dir("widget_probe", instance) / "artifacts" / "shot.png"
    ensure_private_dir(path.parent)
    path.write_bytes(PNG)
    bridge = WidgetBridge(
        data_root,
        send=agent_pipe.send,
        tokens=ArtifactTokenStore(data_root),
        diagnostics=recorder,
        render_timeout_s=20.0,
        action_timeout_s=20.0,
    )
    async with asyncio.timeout(60):
        pump = asyncio.create_task(agent_pipe.pump(bridge, instance))
        try:
            while not bridge.knows_manifest(instance):
                await asyncio.sleep(0.02)
            manifest = bridge.manifest(instance)
            assert manifest is not None and "refresh" in manifest["supported_actions"]
            await agent_pipe.send(instance, AckCommand(app_version="0.1.0", protocol_version="0.4"))
            rendered, cached = await bridge.render(instance, "widget_probe")
            assert not cached and "probe" in rendered.html
            token = rendered.html.split("mimolo://artifact/")[1].split('"')[0]
            assert bridge.tokens.resolve(token, instance_id=instance).rel_path == "shot.png"
            await bridge.action(instance, "refresh")
            # The refresh summary precedes the ACK on the agent's stdout.
            assert any(isinstance(m, SummaryMessage) for m in agent_pipe.messages)
        finally:
            assert agent_pipe.process.stdin is not None
            agent_pipe.process.stdin.close()
            await agent_pipe.process.wait()
            await pump


@pytest.mark.anyio
async def test_concurrent_renders_share_one_flight(
    data_root: DataRoot, clock: FakeClock, recorder: Recorder
) -> None:
    bridge, agent = make_bridge(data_root, frame("<p>one</p>", ttl_ms=0), clock, recorder)
    results = await asyncio.gather(*(bridge.render(INSTANCE, PLUGIN) for _ in range(5)))
    assert len(agent.sent) == 1
    assert {r.request_id for r, _cached in results} == {results[0][0].request_id}

    silent, quiet_agent = make_bridge(data_root, lambda _c: None, clock, recorder)
    outcomes = await asyncio.gather(
        *(silent.render(INSTANCE, PLUGIN) for _ in range(4)), return_exceptions=True
    )
    assert len(quiet_agent.sent) == 1
    assert all(isinstance(o, WidgetError) and o.code == "render_timeout" for o in outcomes)
