"""The real Supervisor, Ledger and Diagnostics driven by schedules on a virtual clock.

Fake agents (``operations.sim``) follow generated or hand-written schedules; after every
operation and at the end the invariants of issue 13 are checked: the loop always makes
progress (no ``LoopStalled`` / ``Deadlock``), every operation answers within its deadline
with a settled state, no instance stays starting/stopping past the supervisor's own bound,
no process outlives ``stop_all``, and every summary a fake agent wrote is in the ledger or
in a drop counter, exactly once. A failing case prints its schedule as JSON: paste it into
``Schedule.from_json`` to replay it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, note, settings

from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.agent_state import TERMINAL_STATES, AgentState
from mimolo.operations.clock import LoopClock
from mimolo.operations.config import validate_config
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import SETTLED_STATES
from mimolo.operations.ledger import Ledger
from mimolo.operations.resources import NullSampler
from mimolo.operations.supervisor import Supervisor, SupervisorEvent
from mimolo.protocol.config_schema import AgentConfig, InstanceConfig
from operations.harness import ledger_records, resolver
from operations.sim.fake_agent import Behaviour
from operations.sim.fake_os import FakeLauncher
from operations.sim.schedules import InstanceSpec, Op, Schedule, schedules
from operations.sim.vloop import VIRTUAL_EPOCH, run_simulation

SIM_SETTINGS: dict[str, Any] = {
    "heartbeat_interval_s": 5.0,
    "agent_flush_interval_s": 20.0,
    "start_timeout_s": 3.0,
    "hang_timeout_s": 30.0,
    "stop_grace_s": 2.0,
    "restart_backoff_initial_s": 0.5,
    "restart_backoff_max_s": 4.0,
    "restart_stable_after_s": 30.0,
    "quarantine_max_restarts": 3,
    "quarantine_window_s": 60.0,
    "resource_sample_interval_s": 10.0,
}
START_TIMEOUT_S = SIM_SETTINGS["start_timeout_s"]
GRACE_S = SIM_SETTINGS["stop_grace_s"]
SETTLE_S = START_TIMEOUT_S + 2 * GRACE_S + 10  # InstanceRuntime.settle_timeout_s
UNSETTLED_LIMIT_S = SETTLE_S + 5  # longest a state may stay starting/stopping
OP_UNIT_S = SETTLE_S + 3 * GRACE_S + 25  # one stop (bounded, then cancelled) plus one start
STOPPED_ANSWERS = TERMINAL_STATES  # what a stop may answer


class RecordingLedger(Ledger):
    """The real ledger, remembering every seq it acknowledged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acknowledged: list[int] = []

    def append(self, **kwargs: Any) -> int:
        seq = super().append(**kwargs)
        self.acknowledged.append(seq)
        return seq


class Observed:
    """What one run saw; ``failures`` must stay empty."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.answers: list[tuple[Op, str]] = []  # (op, settled state or error code)
        self.timed: list[Answered] = []
        self.last_change: dict[str, float] = {}
        self.final: list[AgentState] = []
        self.orphans: list[str] = []
        self.written: dict[str, list[tuple[int, int]]] = {}  # iid -> (pid, n) per summary
        self.lifetimes: dict[str, list[tuple[float, float | None]]] = {}  # iid -> per spawn
        self.before: list[tuple[Op, str]] = []  # the instance's state when the op was issued

    def event(self, event: SupervisorEvent) -> None:
        self.last_change[event.instance_id] = asyncio.get_running_loop().time()


def sim_config(specs: tuple[InstanceSpec, ...]) -> AgentConfig:
    raw = {
        "settings": SIM_SETTINGS,
        "instances": {
            s.instance_id: {"template": "scripted", "label": s.instance_id, "enabled": s.enabled}
            for s in specs
        },
    }
    return validate_config(raw, resolver)


def toggled(config: AgentConfig, iid: str) -> AgentConfig:
    inst = config.instances[iid]
    flipped = msgspec.structs.replace(inst, enabled=not inst.enabled)
    instances: dict[str, InstanceConfig] = {**config.instances, iid: flipped}
    return AgentConfig(settings=config.settings, instances=instances)


async def perform(sup: Supervisor, op: Op, pending: Counter[str], obs: Observed) -> None:
    """Run one op at its time, within a deadline that counts the ops queued before it."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, op.at_s - loop.time()))
    key = op.instance_id or "*"
    ahead = sum(pending.values()) if key == "*" else pending[key] + pending["*"]
    budget = OP_UNIT_S * (2 + ahead)
    pending[key] += 1
    started = loop.time()
    if op.instance_id is not None:
        obs.before.append((op, sup.state(op.instance_id).state))
    try:
        async with asyncio.timeout(budget):
            answer = await _call(sup, op)
    except TimeoutError:
        obs.failures.append(f"{op!r} did not answer within {budget:g}s (virtual)")
        return
    except MimoloError as exc:  # a clear refusal (not running, busy, timeout) is an answer
        obs.answers.append((op, exc.code))
        return
    finally:
        pending[key] -= 1
    obs.answers.append((op, ",".join(s.state for s in answer)))
    obs.timed.append(Answered(op, started, loop.time(), answer))


class Answered(msgspec.Struct, frozen=True):
    """An op that answered: when, and with which states."""

    op: Op
    t0: float
    t1: float
    states: list[AgentState]

    def touches(self, other: Answered) -> bool:
        """Both change the same instance's state and ran at overlapping times."""
        mine, theirs = self.op.instance_id, other.op.instance_id
        same = mine is None or theirs is None or mine == theirs
        lifecycle = "flush_agent" not in (self.op.kind, other.op.kind)
        return same and lifecycle and other.t0 <= self.t1 and self.t0 <= other.t1


def check_answers(obs: Observed) -> None:
    """An op no other op raced answers with its own final state (settled; stopped for a stop)."""
    for rec in obs.timed:
        if any(rec.touches(other) for other in obs.timed if other is not rec):
            continue  # a later op on the same instance may already have moved it on
        allowed = STOPPED_ANSWERS if rec.op.kind in ("stop_agent", "stop_all") else SETTLED_STATES
        for state in rec.states:
            if state.state not in allowed:
                obs.failures.append(f"{rec.op!r} answered {state.instance_id} {state.state!r}")


async def _call(sup: Supervisor, op: Op) -> list[AgentState]:
    iid = op.instance_id or ""
    if op.kind == "start_agent":
        return [await sup.start_agent(iid)]
    if op.kind == "stop_agent":
        return [await sup.stop_agent(iid)]
    if op.kind == "restart_agent":
        return [await sup.restart_agent(iid)]
    if op.kind == "flush_agent":
        await sup.flush_agent(iid)
        return []
    if op.kind == "toggle_enabled":
        await sup.apply_config(toggled(sup.config, iid))
        return []
    return await sup.stop_all()


async def watch_progress(sup: Supervisor, obs: Observed) -> None:
    """No instance stays starting or stopping longer than the supervisor's own bound."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(0.5)
        for state in sup.states():
            since = obs.last_change.get(state.instance_id, 0.0)
            if state.state not in SETTLED_STATES and loop.time() - since > UNSETTLED_LIMIT_S:
                obs.failures.append(
                    f"{state.instance_id} {state.state!r} since t={since:.1f}s "
                    f"(now {loop.time():.1f}s)"
                )
                return


async def simulate(schedule: Schedule, root: DataRoot, rng: random.Random) -> Observed:
    obs = Observed()
    ledger = RecordingLedger(root, fsync_interval_s=0.2)
    ledger.open()
    diagnostics = Diagnostics(root, flush_interval_s=0.5)
    diagnostics.open()
    async with FakeLauncher(schedule.behaviour_for, rng=rng) as launcher:
        sup = Supervisor(
            root,
            sim_config(schedule.instances),
            ledger,
            diagnostics,
            resolve=resolver,
            rng=random.Random(rng.getrandbits(64)),
            listener=obs.event,
            tick_s=1.0,
            clock=LoopClock(virtual_epoch=VIRTUAL_EPOCH),
            launcher=launcher,
            sampler=NullSampler(),
        )
        async with asyncio.TaskGroup() as tg:
            io = [tg.create_task(ledger.run()), tg.create_task(diagnostics.run())]
            sup_task = tg.create_task(sup.run(autostart=True))
            await sup.wait_started()
            watch = tg.create_task(watch_progress(sup, obs))
            pending: Counter[str] = Counter()
            async with asyncio.TaskGroup() as ops:
                for op in schedule.ops:
                    ops.create_task(perform(sup, op, pending, obs))
            check_answers(obs)
            await perform(sup, Op(at_s=0.0, kind="stop_all"), pending, obs)
            obs.final = sup.states()
            obs.orphans = [repr(p) for p in launcher.live()]
            for task in (watch, sup_task, *io):
                task.cancel()
        for spec in schedule.instances:
            procs = launcher.spawned(spec.instance_id)
            obs.written[spec.instance_id] = [(p.pid, n) for p in procs for n in p.summaries]
            obs.lifetimes[spec.instance_id] = [(p.spawned_at, p.exited_at) for p in procs]
    check_counts(obs, ledger, root)
    check_one_process_at_a_time(obs)
    return obs


def check_counts(obs: Observed, ledger: RecordingLedger, root: DataRoot) -> None:
    """Every summary written is in the ledger or a drop counter, exactly once."""
    records = ledger_records(root)
    on_disk = [r["seq"] for r in records]
    if on_disk != ledger.acknowledged:
        obs.failures.append(f"acknowledged seqs {ledger.acknowledged} but on disk {on_disk}")
    by_instance: dict[str, list[tuple[int, int]]] = {}
    for r in records:
        data = r["record"]["data"]
        by_instance.setdefault(r["instance_id"], []).append((data["pid"], data["n"]))
    for state in obs.final:
        iid = state.instance_id
        written, kept = obs.written.get(iid, []), by_instance.get(iid, [])
        dropped = state.drop_counts.get("summary", 0) + state.drop_counts.get("summary_bytes", 0)
        if len(set(kept)) != len(kept) or not set(kept) <= set(written):
            obs.failures.append(f"{iid}: ledger {kept} is not a subset of written {written}")
        if len(written) != len(kept) + dropped:
            obs.failures.append(
                f"{iid}: {len(written)} summaries written, {len(kept)} in the ledger, "
                f"{dropped} counted as dropped"
            )


def check_one_process_at_a_time(obs: Observed) -> None:
    """An instance's next process starts only after the previous one exited."""
    for iid, lives in obs.lifetimes.items():
        for (_, ended), (born, _) in itertools.pairwise(lives):
            if ended is None or born < ended:
                obs.failures.append(f"{iid}: a process spawned at {born:g}s, before {ended}")


def run_schedule(schedule: Schedule) -> Observed:
    """One schedule on a fresh virtual loop and data root; fails with the schedule printed."""
    with tempfile.TemporaryDirectory(prefix="mimolo-sim-") as tmp:
        root = DataRoot.resolve(Path(tmp) / "root").ensure()
        obs = run_simulation(lambda rng: simulate(schedule, root, rng), seed=schedule.seed)
    problems = obs.failures + [f"orphan after stop_all: {o}" for o in obs.orphans]
    problems += [
        f"{s.instance_id} ended {s.state!r} after stop_all"
        for s in obs.final
        if s.state not in TERMINAL_STATES
    ]
    assert not problems, f"replay: Schedule.from_json({schedule.to_json()!r})\n" + "\n".join(
        problems
    )
    return obs


# ---- generated schedules ----------------------------------------------------------------


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(schedules(max_instances=3, max_ops=8, horizon_s=60.0))
def test_generated_schedules_keep_every_invariant(schedule: Schedule) -> None:
    note(f"replay: Schedule.from_json({schedule.to_json()!r})")
    run_schedule(schedule)


def test_a_schedule_replays_from_its_json() -> None:
    schedule = Schedule(
        seed=5,
        instances=(InstanceSpec(instance_id="a", behaviours=(Behaviour(split_lines=True),)),),
        ops=(Op(at_s=1.0, kind="flush_agent", instance_id="a"),),
    )
    again = Schedule.from_json(schedule.to_json())
    assert again == schedule
    first, second = run_schedule(schedule), run_schedule(again)
    assert first.answers == second.answers
    assert first.written == second.written and len(first.written["a"]) >= 1


# ---- the known races, by hand -----------------------------------------------------------


def one(behaviour: Behaviour, *ops: Op, behaviours: tuple[Behaviour, ...] = ()) -> Schedule:
    return Schedule(
        seed=1,
        instances=(InstanceSpec(instance_id="a", behaviours=(behaviour, *behaviours)),),
        ops=ops,
    )


def test_a_valid_line_in_the_same_read_as_the_handshake_while_start_agent_waits() -> None:
    glued = Behaviour(glued=("log", "summary"), coalesce_reads=False)
    obs = run_schedule(one(glued, Op(at_s=0.0, kind="start_agent", instance_id="a")))
    assert [a for _, a in obs.answers] == ["running", "stopped"]
    assert obs.written["a"] == [(40_000, 1), (40_000, 2)]  # the glued one, the final one


def test_start_agent_while_a_chatty_agent_is_stopping() -> None:
    # floods logs, and takes ~3 s to read the stop sequence: the stop is still going at 5.1
    chatty = Behaviour(flood="log", flood_hz=100.0, stdin_bytes_per_s=20.0)
    obs = run_schedule(
        one(
            chatty,
            Op(at_s=5.0, kind="stop_agent", instance_id="a"),
            Op(at_s=5.1, kind="start_agent", instance_id="a"),
        )
    )
    assert obs.before == [(obs.timed[0].op, "running"), (obs.timed[1].op, "stopping")]
    assert [a for _, a in obs.answers] == ["stopped", "running", "stopped"]
    assert len(obs.lifetimes["a"]) == 2


def test_a_crash_in_the_middle_of_the_stop_sequence() -> None:
    obs = run_schedule(
        one(Behaviour(crash_mid_stop=True), Op(at_s=2.0, kind="stop_agent", instance_id="a"))
    )
    assert [a for _, a in obs.answers] == ["stopped", "stopped"]
    assert obs.written["a"] == []  # it died before its flush: nothing to count
    assert len(obs.lifetimes["a"]) == 1  # a crash during a requested stop is not restarted


def test_stop_during_backoff() -> None:
    crashing = Behaviour(crash_after_s=1.0)
    obs = run_schedule(one(crashing, Op(at_s=1.2, kind="stop_agent", instance_id="a")))
    assert obs.before == [(obs.timed[0].op, "backoff")]
    assert [a for _, a in obs.answers] == ["stopped", "stopped"]
    assert len(obs.lifetimes["a"]) == 1  # the scheduled restart never happened


def test_an_agent_that_ignores_sigterm_and_eof_with_an_escaped_child_leaves_nothing() -> None:
    stubborn = Behaviour(on_sigterm="ignore", exit_on_eof=False, escaped_children=1)
    obs = run_schedule(one(stubborn, Op(at_s=3.0, kind="restart_agent", instance_id="a")))
    assert [a for _, a in obs.answers] == ["running", "stopped"]
    assert len(obs.lifetimes["a"]) == 2
