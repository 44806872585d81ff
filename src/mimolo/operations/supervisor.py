"""The supervisor: runs every enabled agent instance and keeps it honest (DESIGN §4).

Structured: one TaskGroup owns a runner task per running instance plus the watchdog;
each runner owns its process's reader tasks. Every wait has a deadline. The public
coroutines (``start_agent`` ... ``apply_config``) are the contract the control server
builds on; they answer with the final state, never a prediction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import msgspec
import psutil

from mimolo import APP_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from mimolo.agents.catalog import AgentTemplate
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import ConfigError, MimoloError
from mimolo.operations.agent_process import AgentProcess
from mimolo.operations.agent_state import TERMINAL_STATES, AgentState
from mimolo.operations.backoff import RestartPolicy, RestartTracker
from mimolo.operations.budget import effective_budgets
from mimolo.operations.config import TemplateResolver, builtin_resolver
from mimolo.operations.config_schema import AgentConfig, Settings
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import AgentMessageHook, InstanceRuntime, MessageRouter
from mimolo.operations.ledger import Ledger
from mimolo.protocol.commands import (
    STOP_SEQUENCE,
    AckCommand,
    AgentCommand,
    FlushCommand,
    RejectCommand,
    SequenceCommand,
)
from mimolo.protocol.messages import AckMessage, AgentMessage, HandshakeMessage
from mimolo.sdk import env as agent_env

log = logging.getLogger(__name__)

Outcome = Literal["stopped", "rejected", "exited", "failed"]
Change = Literal["added", "removed", "restarted", "restart_pending", "updated", "unchanged"]


class SupervisorEvent(msgspec.Struct, frozen=True):
    """A state change, for the ``mimolo ops`` console and other listeners."""

    instance_id: str
    state: str
    detail: str = ""


class NotRunning(MimoloError):
    code = "operations_not_ready"


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
    ) -> None:
        self.data_root = data_root
        self.ledger = ledger
        self.diagnostics = diagnostics
        self._resolve = resolve or builtin_resolver()
        self._rng = rng or random.Random()
        self._listener = listener
        self.tick_s = tick_s
        self._router = MessageRouter(ledger, diagnostics)
        self._config = AgentConfig(settings=config.settings)
        self._runtimes: dict[str, InstanceRuntime] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._ps: dict[str, psutil.Process] = {}
        self._last_health: dict[str, str] = {}
        for iid, inst in config.instances.items():
            self._runtimes[iid] = self._new_runtime(iid, inst.template, config)
        self._config = config
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

    def states(self) -> list[AgentState]:
        """Every configured instance, in config order."""
        return [rt.snapshot() for rt in self._runtimes.values()]

    def state(self, instance_id: str) -> AgentState:
        return self._rt(instance_id).snapshot()

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
            tg.create_task(self._watchdog(), name="watchdog")
            try:
                if autostart:
                    await self.start_all(only_enabled=True)
                await asyncio.Event().wait()
            finally:
                self._tg = None

    def _new_runtime(self, iid: str, template_id: str, config: AgentConfig) -> InstanceRuntime:
        template = self._template(template_id, f"instances.{iid}.template")
        return InstanceRuntime(
            iid,
            config.instances[iid],
            template,
            config.settings,
            tracker=RestartTracker(_policy(config.settings), self._rng),
            on_change=self._changed,
        )

    def _template(self, template_id: str, key: str) -> AgentTemplate:
        template = self._resolve(template_id)
        if template is None:
            raise ConfigError(f"unknown template {template_id!r}", key=key, code="unknown_template")
        return template

    def _changed(self, rt: InstanceRuntime, detail: str) -> None:
        self.diagnostics.record(
            "lifecycle", instance_id=rt.instance_id, state=rt.state, detail=detail, pid=rt.pid
        )
        log.info("%s: %s%s", rt.instance_id, rt.state, f" ({detail})" if detail else "")
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

    # ---- the contract ---------------------------------------------------------------

    async def start_agent(self, instance_id: str) -> AgentState:
        """Start (or clear quarantine and start) one instance; answer once it is up or failed."""
        rt = self._rt(instance_id)
        tg = self._require_tg()
        if rt.task is not None and not rt.task.done():
            if rt.state != "backoff":
                await self._wait_settled(rt)
                return rt.snapshot()
            await self._stop_runner(rt)
        rt.tracker.reset()
        rt.last_error = None if rt.state in ("quarantined", "rejected") else rt.last_error
        rt.stop_requested = asyncio.Event()
        rt.set_state("starting")
        rt.task = tg.create_task(self._runner(rt), name=f"agent:{instance_id}")
        await self._wait_settled(rt)
        return rt.snapshot()

    async def stop_agent(self, instance_id: str) -> AgentState:
        """Graceful stop (sequence stop, flush, shutdown); answer when the process is gone."""
        rt = self._rt(instance_id)
        await self._stop_runner(rt)
        return rt.snapshot()

    async def restart_agent(self, instance_id: str) -> AgentState:
        await self.stop_agent(instance_id)
        return await self.start_agent(instance_id)

    async def flush_agent(self, instance_id: str, *, timeout_s: float = 10.0) -> AgentState:
        """Ask for a summary now; answer after the agent acknowledged the flush."""
        rt = self._rt(instance_id)
        if rt.state != "running" or rt.proc is None:
            raise MimoloError(f"agent {instance_id!r} is not running", code="agent_not_running")
        waiter = self._ack_waiter(rt, "flush")
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
            rt.next_flush_mono = time.monotonic() + rt.flush_interval_s
        return rt.snapshot()

    async def start_all(self, *, only_enabled: bool = True) -> list[AgentState]:
        """Start every (enabled) instance that is not running, in parallel."""
        ids = [
            iid
            for iid, rt in self._runtimes.items()
            if (rt.config.enabled or not only_enabled) and (rt.task is None or rt.task.done())
        ]
        await asyncio.gather(*(self.start_agent(iid) for iid in ids))
        return self.states()

    async def stop_all(self) -> list[AgentState]:
        """Stop every instance in parallel (each with its own absolute deadline)."""
        await asyncio.gather(*(self._stop_runner(rt) for rt in self._runtimes.values()))
        return self.states()

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
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[AgentMessage] = loop.create_future()
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
            self._template(inst.template, f"instances.{iid}.template")
        old = self._config
        result: dict[str, str] = {}
        removed = [rt for iid, rt in self._runtimes.items() if iid not in config.instances]
        await asyncio.gather(*(self._stop_runner(rt) for rt in removed))
        for rt in removed:
            del self._runtimes[rt.instance_id]
            self._ps.pop(rt.instance_id, None)
            result[rt.instance_id] = "removed"
        self._config = config
        actions: list[tuple[str, Change]] = []
        for iid, inst in config.instances.items():
            rt_or_none = self._runtimes.get(iid)
            if rt_or_none is None:
                self._runtimes[iid] = self._new_runtime(iid, inst.template, config)
                actions.append((iid, "added"))
                continue
            rt = rt_or_none
            was_enabled = rt.config.enabled
            rt.config = inst
            rt.template = self._template(inst.template, f"instances.{iid}.template")
            rt.settings = config.settings
            rt.tracker.policy = _policy(config.settings)
            changed = old.instances.get(iid) != inst or old.settings != config.settings
            actions.append((iid, "updated" if changed else "unchanged"))
            if changed and inst.enabled and not was_enabled:
                actions[-1] = (iid, "updated")
        self._apply_budgets()
        jobs = []
        for iid, change in actions:
            rt = self._runtimes[iid]
            running = rt.task is not None and not rt.task.done()
            if change == "added":
                if rt.config.enabled and self._tg is not None:
                    jobs.append(self.start_agent(iid))
            elif not rt.config.enabled and running:
                jobs.append(self.stop_agent(iid))
            elif running and rt.spawned_signature != self._spawn_signature(rt):
                if restart:
                    change = "restarted"
                    jobs.append(self.restart_agent(iid))
                else:
                    change = "restart_pending"
            elif rt.config.enabled and not running and change == "updated":
                was = old.instances.get(iid)
                if was is not None and not was.enabled and self._tg is not None:
                    jobs.append(self.start_agent(iid))
            result[iid] = change
        await asyncio.gather(*jobs)
        self.diagnostics.record("audit", action="apply_config", result=result)
        return result

    # ---- runners --------------------------------------------------------------------

    def _require_tg(self) -> asyncio.TaskGroup:
        if self._tg is None:
            raise NotRunning("the supervisor is not running")
        return self._tg

    async def _wait_settled(self, rt: InstanceRuntime) -> None:
        deadline = rt.settings.start_timeout_s + rt.settings.stop_grace_s * 2 + 10
        try:
            async with asyncio.timeout(deadline):
                while rt.state in ("starting", "stopping"):
                    await rt.changed.wait()
        except TimeoutError:
            log.warning("%s: still %s after %.0fs", rt.instance_id, rt.state, deadline)

    async def _stop_runner(self, rt: InstanceRuntime) -> None:
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

    async def _runner(self, rt: InstanceRuntime) -> None:
        """Run, restart with backoff, quarantine: the life of one instance."""
        try:
            while True:
                outcome = await self._run_once(rt)
                if outcome != "exited" or rt.stop_requested.is_set():
                    break
                ran_for = time.monotonic() - (rt.started_mono or time.monotonic())
                decision = rt.tracker.on_exit(now=time.monotonic(), ran_for_s=ran_for)
                if decision.action == "quarantine":
                    self.diagnostics.record(
                        "policy",
                        instance_id=rt.instance_id,
                        level="error",
                        decision="quarantined",
                        restarts_in_window=decision.restarts_in_window,
                        window_s=rt.settings.quarantine_window_s,
                    )
                    rt.set_state(
                        "quarantined",
                        f"{decision.restarts_in_window} unexpected exits within "
                        f"{rt.settings.quarantine_window_s:g}s",
                    )
                    break
                rt.schedule_restart(decision.delay_s)
                rt.set_state("backoff", f"restart in {decision.delay_s:.1f}s")
                try:
                    async with asyncio.timeout(decision.delay_s):
                        await rt.stop_requested.wait()
                    break
                except TimeoutError:
                    pass
                rt.restarts += 1
        except Exception as exc:  # a bug must not take the other agents down
            log.exception("%s: supervisor error", rt.instance_id)
            rt.last_error = f"supervisor error: {exc!r}"
            rt.set_state("failed", rt.last_error)
        finally:
            if rt.proc is not None:
                rt.proc.kill_now()
                rt.end_run()
            if rt.state not in TERMINAL_STATES:
                rt.set_state("stopped")

    def _agent_env(self, rt: InstanceRuntime, instance_dir: str) -> dict[str, str]:
        params = dict(rt.config.params)
        if (
            rt.config.client_id
            and any(p.name == "client_id" for p in rt.template.params)
            and not params.get("client_id")
        ):
            params["client_id"] = rt.config.client_id
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIMOLO_")}
        env.update(
            {
                agent_env.AGENT_LABEL: rt.config.label,
                agent_env.AGENT_ID: rt.instance_id,
                agent_env.INSTANCE_ID: rt.instance_id,
                agent_env.PLUGIN_ID: rt.template.plugin_id,
                agent_env.DATA_DIR: str(self.data_root.root),
                agent_env.INSTANCE_DIR: instance_dir,
                agent_env.AGENT_CONFIG: json.dumps(params, sort_keys=True),
                agent_env.HEARTBEAT_INTERVAL_S: repr(rt.heartbeat_interval_s),
                agent_env.CPU_BUDGET_PERCENT: repr(rt.budget_percent),
            }
        )
        return env

    def _spawn_signature(self, rt: InstanceRuntime) -> str:
        env = self._agent_env(rt, "")
        return json.dumps([rt.template.argv(), sorted(env.items())])

    def _instance_dir(self, rt: InstanceRuntime) -> str:
        path = self.data_root.instance_dir(rt.template.plugin_id, rt.instance_id)
        for sub in ("artifacts", "index", "archives"):
            ensure_private_dir(path / sub)
        ensure_private_dir(path)
        return str(path)

    async def _run_once(self, rt: InstanceRuntime) -> Outcome:
        """Spawn, handshake, supervise until it ends; say how it ended."""
        rt.set_state("starting")
        try:
            instance_dir = self._instance_dir(rt)
            proc = await AgentProcess.spawn(
                rt.template.argv(), env=self._agent_env(rt, instance_dir), cwd=None
            )
        except OSError as exc:
            rt.last_error = f"cannot start: {exc}"
            rt.set_state("failed", rt.last_error)
            return "failed"
        rt.begin_run(proc)
        rt.spawned_signature = self._spawn_signature(rt)
        self._last_health.pop(rt.instance_id, None)
        self.diagnostics.record(
            "lifecycle", instance_id=rt.instance_id, event="spawned", pid=proc.pid
        )
        settings = rt.settings
        try:
            async with asyncio.TaskGroup() as tg:
                out_task = tg.create_task(
                    proc.read_lines(
                        lambda line: self._router.on_line(rt, line),
                        lambda size: self._router.on_oversized(rt, size),
                        max_line_bytes=settings.max_line_bytes,
                        before_chunk=self.ledger.wait_for_room,
                    )
                )
                err_task = tg.create_task(proc.read_stderr(lambda t: self._router.on_stderr(rt, t)))
                outcome = await self._supervise(rt, proc, out_task)
                # read stdout to EOF before declaring the agent gone (bounded)
                done, _ = await asyncio.wait({out_task, err_task}, timeout=5.0)
                for task in (out_task, err_task):
                    if task not in done:
                        log.warning(
                            "%s: output still open after exit; giving up on it", rt.instance_id
                        )
                        task.cancel()
        finally:
            if proc.returncode is None:
                proc.kill_now()
            rt.end_run()
            if self._router.hook is not None:
                self._router.hook.forget(rt.instance_id)
        self.diagnostics.record(
            "lifecycle",
            instance_id=rt.instance_id,
            event="exited",
            outcome=outcome,
            returncode=proc.returncode,
        )
        return outcome

    async def _supervise(
        self, rt: InstanceRuntime, proc: AgentProcess, out_task: asyncio.Task[None]
    ) -> Outcome:
        settings = rt.settings
        label = rt.instance_id
        handshake = rt.handshake
        assert handshake is not None
        first: set[asyncio.Future[Any]] = {handshake, out_task}
        await asyncio.wait(
            first,
            timeout=settings.start_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not handshake.done() or handshake.cancelled() or handshake.exception() is not None:
            if handshake.done() and not handshake.cancelled() and handshake.exception() is not None:
                rt.last_error = f"bad handshake: {handshake.exception()}"
            elif out_task.done():
                rt.last_error = f"exited before the handshake (code {proc.returncode})"
            else:
                rt.last_error = f"no handshake within {settings.start_timeout_s:g}s"
            self.diagnostics.record(
                "lifecycle",
                instance_id=label,
                level="error",
                event="handshake_failed",
                message=rt.last_error,
            )
            await proc.terminate(settings.stop_grace_s, label=label)
            return "exited"
        hello: HandshakeMessage = handshake.result()
        rt.agent_version = hello.agent_version
        rt.protocol_version = hello.protocol_version
        if hello.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            await proc.send(RejectCommand(reason="protocol_version_mismatch"), timeout_s=1.0)
            rt.last_error = (
                f"protocol version {hello.protocol_version!r} not supported "
                f"(supported: {', '.join(SUPPORTED_PROTOCOL_VERSIONS)})"
            )
            self.diagnostics.record(
                "lifecycle",
                instance_id=label,
                level="error",
                event="rejected",
                message=rt.last_error,
            )
            await proc.wait(min(1.0, settings.stop_grace_s))
            await proc.terminate(settings.stop_grace_s, label=label)
            rt.set_state("rejected", rt.last_error)
            return "rejected"
        await proc.send(
            AckCommand(app_version=APP_VERSION, protocol_version=hello.protocol_version),
            timeout_s=settings.start_timeout_s,
        )
        rt.next_flush_mono = time.monotonic() + rt.flush_interval_s
        rt.set_state("running", f"pid {proc.pid}")
        stop_wait = asyncio.ensure_future(rt.stop_requested.wait())
        hang_wait = asyncio.ensure_future(rt.hang_detected.wait())
        try:
            done, _ = await asyncio.wait(
                {out_task, stop_wait, hang_wait}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop_wait.cancel()
            hang_wait.cancel()
            await asyncio.wait({stop_wait, hang_wait})
        if out_task in done:
            exited = await proc.wait(settings.stop_grace_s)
            if not exited:
                rt.last_error = "closed its output but kept running"
                await proc.terminate(settings.stop_grace_s, label=label)
            else:
                rt.last_error = f"exited unexpectedly (code {proc.returncode})"
            return "exited"
        if hang_wait in done and not rt.stop_requested.is_set():
            rt.last_error = f"no output for {settings.hang_timeout_s:g}s; restarting"
            self.diagnostics.record(
                "policy",
                instance_id=label,
                level="error",
                decision="hung_restart",
                message=rt.last_error,
            )
            await self._graceful_stop(rt, proc, out_task)
            return "exited"
        await self._graceful_stop(rt, proc, out_task)
        return "stopped"

    def _ack_waiter(self, rt: InstanceRuntime, command: str) -> asyncio.Future[AckMessage]:
        fut: asyncio.Future[AckMessage] = asyncio.get_running_loop().create_future()
        rt.ack_waiters.setdefault(command, []).append(fut)
        return fut

    async def _graceful_stop(
        self, rt: InstanceRuntime, proc: AgentProcess, out_task: asyncio.Task[None]
    ) -> None:
        """sequence [stop, flush, shutdown]; wait (absolute deadline) for the ACK and EOF;
        then close stdin, SIGTERM the group, SIGKILL after the grace period."""
        rt.set_state("stopping")
        grace = rt.settings.stop_grace_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        shutdown_ack = self._ack_waiter(rt, "shutdown")
        sent = await proc.send(SequenceCommand(sequence=list(STOP_SEQUENCE)), timeout_s=grace)
        if sent:
            either: set[asyncio.Future[Any]] = {out_task, shutdown_ack}
            await asyncio.wait(
                either,
                timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if shutdown_ack.done() and not out_task.done():
                # acknowledged: give it the rest of a short moment to exit by itself
                await asyncio.wait({out_task}, timeout=max(0.0, min(1.0, deadline - loop.time())))
            if out_task.done():
                # output closed: it is exiting; let it finish its own clean-up first
                await proc.wait(max(0.0, min(1.0, deadline - loop.time())))
        if not shutdown_ack.done():
            shutdown_ack.cancel()
        code = await proc.terminate(grace, label=rt.instance_id)
        self.diagnostics.record(
            "lifecycle",
            instance_id=rt.instance_id,
            event="stopped",
            returncode=code,
            graceful=sent and out_task.done(),
        )

    # ---- the watchdog ---------------------------------------------------------------

    async def _watchdog(self) -> None:
        """Hang detection, scheduled flushes, health transitions and resource sampling."""
        next_sample = time.monotonic() + self.settings.resource_sample_interval_s
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            for rt in list(self._runtimes.values()):
                if rt.state != "running" or rt.proc is None:
                    continue
                self._check(rt, now)
            self._router_reports(now)
            if now >= next_sample:
                next_sample = now + self.settings.resource_sample_interval_s
                self._sample_resources(self._runtimes.values())

    def _check(self, rt: InstanceRuntime, now: float) -> None:
        proc = rt.proc
        assert proc is not None
        if (
            rt.last_output_mono is not None
            and now - rt.last_output_mono > rt.settings.hang_timeout_s
        ):
            rt.hang_detected.set()
        if rt.next_flush_mono is not None and now >= rt.next_flush_mono:
            rt.next_flush_mono = now + rt.flush_interval_s
            if not proc.send_nowait(FlushCommand()):
                rt.drop_counts["flush_command"] += 1
        health = rt.classify(now)
        previous = self._last_health.get(rt.instance_id, "unknown")
        if health != previous:
            self._last_health[rt.instance_id] = health
            if previous != "unknown" or health != "healthy":
                self.diagnostics.record(
                    "policy",
                    instance_id=rt.instance_id,
                    level="info" if health == "healthy" else "warning",
                    decision="health",
                    health=health,
                    previous=previous,
                )
                if self._listener is not None:
                    self._listener(SupervisorEvent(rt.instance_id, rt.state, f"health {health}"))

    def _router_reports(self, now: float) -> None:
        for rt in self._runtimes.values():
            if rt._unreported_summary_drops:
                self._router.report_summary_drops(rt, now)

    def _sample_resources(self, runtimes: Iterable[InstanceRuntime]) -> None:
        """psutil CPU% and RSS of every running agent (Operations measures, not only trusts)."""
        for rt in runtimes:
            pid = rt.pid
            if pid is None or rt.state != "running":
                self._ps.pop(rt.instance_id, None)
                continue
            ps = self._ps.get(rt.instance_id)
            try:
                if ps is None or ps.pid != pid:
                    ps = psutil.Process(pid)
                    self._ps[rt.instance_id] = ps
                    ps.cpu_percent(None)  # primes the counter; the first answer is meaningless
                    rt.rss_mb = round(ps.memory_info().rss / 2**20, 2)
                    continue
                cpu = round(ps.cpu_percent(None), 2)
                rss = round(ps.memory_info().rss / 2**20, 2)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._ps.pop(rt.instance_id, None)
                continue
            if rt.record_resources(cpu, rss):
                hot = rt.over_budget_samples >= 3
                self.diagnostics.record(
                    "policy",
                    instance_id=rt.instance_id,
                    level="warning" if hot else "info",
                    decision="over_budget" if hot else "back_within_budget",
                    cpu_percent=cpu,
                    budget_percent=rt.budget_percent,
                )


__all__ = ["NotRunning", "Supervisor", "SupervisorEvent"]
