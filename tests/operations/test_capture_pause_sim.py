"""The capture pause in Operations, on a virtual clock with fake agents (operations.sim).

A pause reaches exactly the agents that advertised ``capture_pause``, an agent that starts
during a pause gets it right after its handshake ACK, a restart of Operations keeps a
pause "until resumed", and an expiry ends the pause on virtual time with an audit record.
"""

from __future__ import annotations

import asyncio
import json
import random
import stat
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from mimolo.dataroot import DataRoot
from mimolo.operations.capture_pause import CaptureControl, state_path
from mimolo.operations.clock import LoopClock
from mimolo.operations.config import validate_config
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.ledger import Ledger
from mimolo.operations.resources import NullSampler
from mimolo.operations.supervisor import Supervisor
from mimolo.protocol.commands import (
    AckCommand,
    AgentCommand,
    PauseCaptureCommand,
    ResumeCaptureCommand,
)
from operations.harness import resolver
from operations.sim.fake_agent import Behaviour
from operations.sim.fake_os import FakeLauncher
from operations.sim.vloop import VIRTUAL_EPOCH, run_simulation

T = TypeVar("T")
SETTINGS: dict[str, Any] = {
    "heartbeat_interval_s": 5.0,
    "agent_flush_interval_s": 60.0,
    "start_timeout_s": 3.0,
    "hang_timeout_s": 60.0,
    "stop_grace_s": 2.0,
    "resource_sample_interval_s": 10.0,
}
BEHAVIOURS: Mapping[str, Behaviour] = {"cap": Behaviour(captures=True), "plain": Behaviour()}


class Ops:
    """One simulated Operations: a supervisor, its diagnostics and the fake launcher."""

    def __init__(self, sup: Supervisor, diagnostics: Diagnostics, launcher: FakeLauncher):
        self.sup = sup
        self.diagnostics = diagnostics
        self.launcher = launcher

    @property
    def capture(self) -> CaptureControl:
        return self.sup.capture

    def commands(self, iid: str, n: int = -1) -> list[AgentCommand]:
        return list(self.launcher.spawned(iid)[n].commands)

    def audits(self) -> list[dict[str, Any]]:
        return [r for r in self.diagnostics.tail(1000) if r["kind"] == "audit"]

    async def until(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.1)


@asynccontextmanager
async def operations(root: DataRoot, rng: random.Random, *ids: str) -> AsyncIterator[Ops]:
    raw = {
        "settings": SETTINGS,
        "instances": {iid: {"template": "scripted", "label": iid} for iid in ids},
    }
    ledger = Ledger(root, fsync_interval_s=0.2)
    ledger.open()
    diagnostics = Diagnostics(root, flush_interval_s=0.5)
    diagnostics.open()
    async with FakeLauncher(BEHAVIOURS, rng=rng) as launcher:
        sup = Supervisor(
            root,
            validate_config(raw, resolver),
            ledger,
            diagnostics,
            resolve=resolver,
            rng=random.Random(rng.getrandbits(64)),
            tick_s=1.0,
            clock=LoopClock(virtual_epoch=VIRTUAL_EPOCH),
            launcher=launcher,
            sampler=NullSampler(),
        )
        async with asyncio.TaskGroup() as tg:
            io = [tg.create_task(ledger.run()), tg.create_task(diagnostics.run())]
            sup_task = tg.create_task(sup.run(autostart=True))
            await sup.wait_started()
            try:
                yield Ops(sup, diagnostics, launcher)
            finally:
                await sup.stop_all()
                for task in (sup_task, *io):
                    task.cancel()
    diagnostics.close()


def simulate(body: Callable[[DataRoot, random.Random], Coroutine[Any, Any, T]]) -> T:
    with tempfile.TemporaryDirectory(prefix="mimolo-capture-") as tmp:
        root = DataRoot.resolve(Path(tmp) / "root").ensure()
        return run_simulation(lambda rng: body(root, rng), seed=7)


def _pauses(commands: list[AgentCommand]) -> list[AgentCommand]:
    return [c for c in commands if isinstance(c, PauseCaptureCommand | ResumeCaptureCommand)]


def test_a_pause_reaches_only_capturing_agents_and_is_audited() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        async with operations(root, rng, "cap", "plain") as ops:
            await ops.until(lambda: all(s.state == "running" for s in ops.sup.states()))
            answer = await ops.capture.pause(30, via="ipc")
            assert answer["paused"] and answer["by"] == "ipc"
            assert answer["agents"] == {"cap": "acked"}
            since, until = (datetime.fromisoformat(answer[k]) for k in ("since", "until"))
            assert until - since == timedelta(minutes=30)
            (pause,) = _pauses(ops.commands("cap"))
            assert isinstance(pause, PauseCaptureCommand)
            assert pause.args["until"] == answer["until"]
            assert _pauses(ops.commands("plain")) == []
            stored = json.loads(state_path(root).read_text())
            assert stored["paused"] and stored["by"] == "ipc"
            assert stat.S_IMODE(state_path(root).stat().st_mode) == 0o600
            resumed = await ops.capture.resume(via="cli")
            assert resumed["paused"] is False and resumed["agents"] == {"cap": "acked"}
            assert isinstance(_pauses(ops.commands("cap"))[-1], ResumeCaptureCommand)
            actions = [(a["action"], a["via"]) for a in ops.audits() if "capture" in a["action"]]
            assert actions == [("pause_capture", "ipc"), ("resume_capture", "cli")]
            assert ops.audits()[-1]["until"] == answer["until"]

    simulate(body)


def test_an_agent_that_starts_during_a_pause_gets_it_right_after_its_ack() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        async with operations(root, rng, "cap") as ops:
            await ops.until(lambda: ops.sup.state("cap").state == "running")
            await ops.capture.pause(None, via="control")
            state = await ops.sup.restart_agent("cap")
            assert state.state == "running"
            assert len(ops.launcher.spawned("cap")) == 2
            commands = ops.commands("cap")
            assert isinstance(commands[0], AckCommand)
            assert isinstance(commands[1], PauseCaptureCommand)
            assert commands[1].args == {"until": None}
            # the second process's ACK of it is solicited: recorded, never budgeted away
            await ops.until(lambda: ops.sup.state("cap").state == "running")

    simulate(body)


def test_a_pause_until_resumed_survives_a_restart_of_operations() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        async with operations(root, rng, "cap") as ops:
            await ops.until(lambda: ops.sup.state("cap").state == "running")
            first = await ops.capture.pause(None, via="ipc")
        async with operations(root, rng, "cap") as again:
            assert again.capture.state.paused
            assert again.capture.view()["since"] == first["since"]
            await again.until(lambda: again.sup.state("cap").state == "running")
            commands = again.commands("cap")
            assert isinstance(commands[0], AckCommand)
            assert isinstance(commands[1], PauseCaptureCommand)
            await asyncio.sleep(3600)  # until resumed: time alone never ends it
            assert again.capture.state.paused
            assert (await again.capture.resume(via="ipc"))["paused"] is False
        async with operations(root, rng, "cap") as third:
            assert not third.capture.state.paused
            await third.until(lambda: third.sup.state("cap").state == "running")
            assert _pauses(third.commands("cap")) == []

    simulate(body)


def test_a_timed_pause_expires_on_virtual_time() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        async with operations(root, rng, "cap") as ops:
            await ops.until(lambda: ops.sup.state("cap").state == "running")
            answer = await ops.capture.pause(2, via="ipc")
            assert 119 <= answer["remaining_s"] <= 120
            await asyncio.sleep(100)
            assert ops.capture.state.paused
            await ops.until(lambda: not ops.capture.state.paused, timeout=30)
            (expired,) = [a for a in ops.audits() if a["action"] == "pause_expired"]
            assert expired["until"] == answer["until"] and expired["via"] == "operations"
            await ops.until(
                lambda: isinstance(_pauses(ops.commands("cap"))[-1], ResumeCaptureCommand)
            )
            assert not json.loads(state_path(root).read_text())["paused"]

    simulate(body)


def test_an_unreadable_state_file_keeps_capture_paused() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        state_path(root).write_text("{not json", encoding="utf-8")
        async with operations(root, rng, "cap") as ops:
            assert ops.capture.state.paused and ops.capture.state.until is None
            await ops.until(lambda: ops.sup.state("cap").state == "running")
            assert isinstance(ops.commands("cap")[1], PauseCaptureCommand)
            errors = [
                r
                for r in ops.diagnostics.tail(1000)
                if r.get("event") == "capture_pause_unreadable"
            ]
            assert errors and "capture_pause.json" in errors[0]["message"]

    simulate(body)


def test_minutes_out_of_range_are_refused_before_anything_changes() -> None:
    async def body(root: DataRoot, rng: random.Random) -> None:
        async with operations(root, rng, "cap") as ops:
            for minutes in (0, 1441, -5):
                try:
                    await ops.capture.pause(minutes, via="ipc")
                except ValueError as exc:
                    assert "between 1 and 1440" in str(exc)
                else:
                    raise AssertionError(f"minutes={minutes} was accepted")
            assert not ops.capture.state.paused and not state_path(root).exists()

    simulate(body)
