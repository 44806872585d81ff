"""The supervisor: runs every enabled agent instance and keeps it honest (DESIGN §4).

A facade over the parts: ``Runner`` (the life of one instance), ``Watchdog`` (periodic
checks), ``reconcile.plan`` (what a new config means), ``spawn_env`` (what an agent is
started with). One TaskGroup owns a runner task per running instance plus the watchdog.
The clock, the process launcher and the resource sampler are passed in, so the whole
lifecycle runs in deterministic simulation. The public coroutines answer with the final
state, never a prediction; each instance's start/stop/restart run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError, MimoloError, NotRunning
from mimolo.operations import reconcile
from mimolo.operations.agent_state import AgentState
from mimolo.operations.backoff import RestartPolicy, RestartTracker
from mimolo.operations.budget import effective_budgets
from mimolo.operations.capture_pause import CaptureControl, state_path
from mimolo.operations.clock import Clock, LoopClock
from mimolo.operations.config import TemplateResolver, builtin_resolver
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.launcher import GroupOnly, Launcher
from mimolo.operations.ledger import Ledger
from mimolo.operations.resources import PsutilSampler, Sampler
from mimolo.operations.router import AgentMessageHook, MessageRouter
from mimolo.operations.runner import LaunchCheck, Runner, ack_waiter
from mimolo.operations.spawn_env import plan_spawn, spawn_signature_of
from mimolo.operations.subprocess_launcher import SubprocessLauncher
from mimolo.operations.watchdog import Watchdog
from mimolo.protocol.commands import AgentCommand, FlushCommand
from mimolo.protocol.config_schema import AgentConfig, Settings
from mimolo.protocol.messages import AgentMessage
from mimolo.protocol.templates import AgentTemplate

log = logging.getLogger(__name__)


class SupervisorEvent(msgspec.Struct, frozen=True):
    """A state change, for the ``mimolo ops`` console and other listeners."""

    instance_id: str
    state: str
    detail: str = ""


def _policy(settings: Settings) -> RestartPolicy:
    return RestartPolicy(
        initial_s=settings.restart_backoff_initial_s,
        max_s=settings.restart_backoff_max_s,
        stable_after_s=settings.restart_stable_after_s,
        max_restarts=settings.quarantine_max_restarts,
        window_s=settings.quarantine_window_s,
    )


class Supervisor:
    """Owns agent processes for one Operations."""

    def __init__(
        self,
        data_root: DataRoot,
        config: AgentConfig,
        ledger: Ledger,
        diagnostics: Diagnostics,
        *,
        resolve: TemplateResolver | None = None,
        rng: random.Random | None = None,
        listener: Callable[[SupervisorEvent], None] | None = None,
        tick_s: float = 1.0,
        clock: Clock | None = None,
        launcher: Launcher | None = None,
        sampler: Sampler | None = None,
        launch_check: LaunchCheck | None = None,
    ) -> None:
        self.data_root = data_root
        self.ledger = ledger
        self.diagnostics = diagnostics
        self.clock: Clock = clock or LoopClock()
        self.launcher: Launcher = launcher or SubprocessLauncher(GroupOnly())
        self._resolve = resolve or builtin_resolver()
        self._rng = rng or random.Random()
        self._listener = listener
        self.tick_s = tick_s
        self._router = MessageRouter(ledger, diagnostics, self.clock)
        self._runner = Runner(
            launcher=self.launcher,
            router=self._router,
            ledger=ledger,
            diagnostics=diagnostics,
            plan_spawn=lambda rt: plan_spawn(rt, data_root),
            after_ack=lambda rt: self.capture.after_handshake(rt),
            launch_check=launch_check,
        )
        self.capture = CaptureControl(
            state_path(data_root), diagnostics, self.clock, lambda: self._runtimes.values()
        )
        self._watchdog = Watchdog(
            diagnostics,
            self._router,
            sampler or PsutilSampler(),
            sample_interval_s=lambda: self.settings.resource_sample_interval_s,
            on_health=lambda rt, detail: self._emit(rt, detail),
        )
        self._config = config
        self._runtimes: dict[str, InstanceRuntime] = {
            iid: self._new_runtime(iid, inst.plugin_id, config)
            for iid, inst in config.instances.items()
        }
        self._removed_drops = 0
        self._tg: asyncio.TaskGroup | None = None
        self._started = asyncio.Event()
        self._apply_budgets()

    @property
    def message_hook(self) -> AgentMessageHook | None:
        """Receives handshakes' widget manifests, widget frames/acks/errors, and exits."""
        return self._router.hook

    @message_hook.setter
    def message_hook(self, hook: AgentMessageHook | None) -> None:
        self._router.hook = hook

    # ---- read side --------------------------------------------------------------------

    @property
    def config(self) -> AgentConfig:
        return self._config

    @property
    def settings(self) -> Settings:
        return self._config.settings

    @property
    def containment_mode(self) -> str:
        return self.launcher.mode

    def states(self) -> list[AgentState]:
        """Every configured instance, in config order."""
        return [rt.snapshot() for rt in self._runtimes.values()]

    def state(self, instance_id: str) -> AgentState:
        return self._rt(instance_id).snapshot()

    def drops_total(self) -> int:
        """Every message dropped since start, removed instances included."""
        return self._removed_drops + sum(rt.budget.total for rt in self._runtimes.values())

    def _rt(self, instance_id: str) -> InstanceRuntime:
        rt = self._runtimes.get(instance_id)
        if rt is None:
            raise MimoloError(f"no agent instance {instance_id!r}", code="unknown_instance")
        return rt

    # ---- lifecycle of the supervisor ------------------------------------------------

    async def run(self, *, autostart: bool = True) -> None:
        """Run until cancelled; agents still running then are killed (use stop_all first)."""
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            tg.create_task(self._watch(), name="watchdog")
            self._started.set()
            try:
                if autostart:
                    await self.start_all(only_enabled=True)
                await asyncio.Event().wait()
            finally:
                self._tg = None
                self._started.clear()

    async def wait_started(self) -> None:
        """Until ``run`` accepts starts (its TaskGroup exists)."""
        await self._started.wait()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self._watchdog.tick(self._runtimes.values(), self.clock.monotonic())
            expired = self.capture.expire_due()
            if expired is not None and self._tg is not None:
                self._tg.create_task(self.capture.broadcast(expired), name="capture-expiry")

    def _new_runtime(self, iid: str, template_id: str, config: AgentConfig) -> InstanceRuntime:
        return InstanceRuntime(
            iid,
            config.instances[iid],
            self._template(template_id, f"instances.{iid}.template"),
            config.settings,
            tracker=RestartTracker(_policy(config.settings), self._rng),
            clock=self.clock,
            on_change=self._changed,
        )

    def _template(self, template_id: str, key: str) -> AgentTemplate:
        template = self._resolve(template_id)
        if template is None:
            raise ConfigError(
                f"unknown template {template_id!r}", field=key, code="unknown_template"
            )
        return template

    def _changed(self, rt: InstanceRuntime, detail: str) -> None:
        self.diagnostics.record(
            "lifecycle", instance_id=rt.instance_id, state=rt.state, detail=detail, pid=rt.pid
        )
        log.info("%s: %s%s", rt.instance_id, rt.state, f" ({detail})" if detail else "")
        self._emit(rt, detail)

    def _emit(self, rt: InstanceRuntime, detail: str) -> None:
        if self._listener is not None:
            self._listener(SupervisorEvent(rt.instance_id, rt.state, detail))

    def _apply_budgets(self) -> None:
        s = self.settings
        plan = effective_budgets(
            {iid: rt.config.cpu_budget_percent for iid, rt in self._runtimes.items()},
            default_percent=s.cpu_default_budget_percent,
            max_percent=s.cpu_max_budget_percent,
            envelope_percent=s.cpu_envelope_percent,
            ops_percent=s.ops_cpu_budget_percent,
        )
        for iid, budget in plan.budgets.items():
            self._runtimes[iid].budget_percent = budget
        if plan.scale < 1.0:
            self.diagnostics.record(
                "policy",
                level="warning",
                decision="budgets_scaled",
                scale=round(plan.scale, 4),
                requested_total=plan.requested_total,
                envelope=s.cpu_envelope_percent,
            )

    # ---- what an agent is started with ------------------------------------------------

    # ---- the contract ---------------------------------------------------------------

    def _require_tg(self) -> asyncio.TaskGroup:
        if self._tg is None:
            raise NotRunning("the supervisor is not running")
        return self._tg

    async def start_agent(self, instance_id: str) -> AgentState:
        """Start (or clear quarantine and start) one instance; answer once it is up or failed.

        A start that arrives while the instance is stopping waits for the stop to finish,
        then starts it; one that arrives while it starts or runs answers its settled state.
        """
        rt = self._rt(instance_id)
        tg = self._require_tg()
        async with rt.lifecycle:
            if rt.runner_active:
                if rt.state == "backoff" or rt.stop_requested.is_set():
                    await self._stop_runner(rt)
                else:
                    await rt.wait_settled()
                    return rt.snapshot()
            rt.tracker.reset()
            if rt.state in ("quarantined", "rejected", "untrusted"):
                rt.last_error = None
            rt.stop_requested = asyncio.Event()
            rt.set_state("starting")
            rt.task = tg.create_task(self._runner.run(rt), name=f"agent:{instance_id}")
            if not await rt.wait_settled():
                log.warning("%s: still %s after %.0fs", instance_id, rt.state, rt.settle_timeout_s)
            return rt.snapshot()

    async def stop_agent(self, instance_id: str) -> AgentState:
        """Graceful stop (sequence stop, flush, shutdown); answer when the process is gone."""
        rt = self._rt(instance_id)
        async with rt.lifecycle:
            await self._stop_runner(rt)
        return rt.snapshot()

    async def _stop_runner(self, rt: InstanceRuntime) -> None:
        """Ask the runner to stop and wait for it (bounded; cancelled past the bound)."""
        task = rt.task
        if task is None or task.done():
            if rt.state == "backoff":
                rt.set_state("stopped")
            return
        rt.stop_requested.set()
        limit = rt.settings.stop_grace_s * 3 + 15
        done, _ = await asyncio.wait({task}, timeout=limit)
        if not done:
            log.error("%s: runner did not finish in %.0fs; cancelling", rt.instance_id, limit)
            task.cancel()
            await asyncio.wait({task}, timeout=10)

    async def restart_agent(self, instance_id: str) -> AgentState:
        await self.stop_agent(instance_id)
        return await self.start_agent(instance_id)

    async def flush_agent(self, instance_id: str, *, timeout_s: float = 10.0) -> AgentState:
        """Ask for a summary now; answer after the agent acknowledged the flush."""
        rt = self._rt(instance_id)
        if rt.state != "running" or rt.proc is None:
            raise MimoloError(f"agent {instance_id!r} is not running", code="agent_not_running")
        waiter = ack_waiter(rt, "flush")
        if not await rt.proc.send(FlushCommand(), timeout_s=timeout_s):
            waiter.cancel()
            raise MimoloError(f"agent {instance_id!r} is not reading commands", code="agent_busy")
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not waiter.cancelled():
                raise
            raise MimoloError(
                f"agent {instance_id!r} did not acknowledge the flush", code="agent_timeout"
            ) from None
        if rt.next_flush_mono is not None:
            rt.next_flush_mono = self.clock.monotonic() + rt.flush_interval_s
        return rt.snapshot()

    async def start_all(self, *, only_enabled: bool = True) -> list[AgentState]:
        """Start every (enabled) instance that is not running, in parallel."""
        ids = [
            iid
            for iid, rt in self._runtimes.items()
            if (rt.config.enabled or not only_enabled) and not rt.runner_active
        ]
        await asyncio.gather(*(self.start_agent(iid) for iid in ids))
        return self.states()

    async def stop_all(self) -> list[AgentState]:
        """Stop every instance in parallel (each with its own absolute deadline); each
        instance's state as its stop left it (a start queued behind it shows later)."""
        return list(await asyncio.gather(*(self.stop_agent(iid) for iid in list(self._runtimes))))

    async def send_command(self, instance_id: str, command: AgentCommand) -> None:
        """Write one command to a running agent (the widget bridge uses this)."""
        rt = self._rt(instance_id)
        if rt.state != "running" or rt.proc is None:
            raise MimoloError(f"agent {instance_id!r} is not running", code="agent_not_running")
        if not await rt.proc.send(command):
            raise MimoloError(f"agent {instance_id!r} is not reading commands", code="agent_busy")

    async def request(
        self, instance_id: str, command: AgentCommand, request_id: str, *, timeout_s: float = 5.0
    ) -> AgentMessage:
        """Send ``command`` and wait for the ``widget_frame`` (or ``error``) with ``request_id``."""
        rt = self._rt(instance_id)
        fut: asyncio.Future[AgentMessage] = asyncio.get_running_loop().create_future()
        rt.request_waiters[request_id] = fut
        try:
            await self.send_command(instance_id, command)
            async with asyncio.timeout(timeout_s):
                return await fut
        except TimeoutError:
            raise MimoloError(
                f"agent {instance_id!r} did not answer request {request_id!r}",
                code="agent_timeout",
            ) from None
        finally:
            rt.request_waiters.pop(request_id, None)

    async def apply_config(self, config: AgentConfig, *, restart: bool = True) -> dict[str, str]:
        """Make the running set match ``config``; per instance what happened.

        With ``restart=False`` a running instance whose command or environment changed
        keeps running as it is (``restart_pending``); its next start uses the new config.
        """
        for iid, inst in config.instances.items():
            self._template(inst.plugin_id, f"instances.{iid}.plugin_id")
        old = self._config
        removed = [iid for iid in self._runtimes if iid not in config.instances]
        await asyncio.gather(*(self.stop_agent(iid) for iid in removed))
        for iid in removed:
            self._removed_drops += self._runtimes.pop(iid).budget.total
            self._watchdog.sampler.forget(iid)
        self._config = config
        for iid, inst in config.instances.items():
            rt = self._runtimes.get(iid)
            if rt is None:
                continue
            rt.config = inst
            rt.template = self._template(inst.plugin_id, f"instances.{iid}.plugin_id")
            rt.settings = config.settings
            rt.tracker.policy = _policy(config.settings)
        added = [iid for iid in config.instances if iid not in self._runtimes]
        for iid in added:
            self._runtimes[iid] = self._new_runtime(iid, config.instances[iid].plugin_id, config)
        self._apply_budgets()
        facts = [
            reconcile.InstanceFacts(
                instance_id=iid,
                old=None if iid in added else old.instances.get(iid),
                new=inst,
                running=self._runtimes[iid].runner_active,
                respawn_needed=self._runtimes[iid].spawned_signature
                != spawn_signature_of(self._runtimes[iid], self.data_root),
            )
            for iid, inst in config.instances.items()
        ]
        steps = reconcile.plan(
            facts,
            settings_changed=old.settings != config.settings,
            restart=restart,
            can_start=self._tg is not None,
        )
        jobs = {"start": self.start_agent, "stop": self.stop_agent, "restart": self.restart_agent}
        await asyncio.gather(*(jobs[s.action](s.instance_id) for s in steps if s.action in jobs))
        result = dict.fromkeys(removed, "removed") | {s.instance_id: s.change for s in steps}
        self.diagnostics.record("audit", action="apply_config", result=result)
        return result


__all__ = ["Supervisor", "SupervisorEvent"]
