"""The life of one agent instance: spawn, handshake, supervise, stop; restart with backoff.

A runner task per running instance, owned by the supervisor's TaskGroup. Every wait has a
deadline; anything that goes wrong inside a run, a bug included, ends that run like a
crash would (counted, explained in ``last_error``, restarted through the normal backoff),
never the runner and never the other agents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from mimolo import APP_VERSION, SUPPORTED_PROTOCOL_VERSIONS
from mimolo.operations.agent_process import AgentProcess
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.instance import InstanceRuntime
from mimolo.operations.launcher import Launcher
from mimolo.operations.ledger import Ledger
from mimolo.operations.router import MessageRouter
from mimolo.operations.spawn_env import SpawnPlan
from mimolo.protocol.commands import STOP_SEQUENCE, AckCommand, RejectCommand, SequenceCommand
from mimolo.protocol.messages import AckMessage, HandshakeMessage
from mimolo.protocol.templates import AgentTemplate

log = logging.getLogger(__name__)

Outcome = Literal["stopped", "rejected", "exited", "failed", "untrusted"]
# Before every spawn: None to go ahead, else why the template may not run (its package
# failed launch-time verification); the instance is then ``untrusted`` and not restarted.
LaunchCheck = Callable[[AgentTemplate], Awaitable[str | None]]
_EOF_AFTER_EXIT_S = 5.0
# An agent whose last chunk of output went over its budget waits this long before its next
# read: at most 64 KiB per pause, so a flood costs Operations (and the machine) little.
OVER_BUDGET_PAUSE_S = 0.1
# A chunk inside a line already over the cap is thrown away; the next read waits this long,
# so an endless line is read at ~6 MiB/s (a 10 MiB line takes under 2 s), not at a core.
DISCARD_PAUSE_S = 0.01


def ack_waiter(rt: InstanceRuntime, command: str) -> asyncio.Future[AckMessage]:
    """A future the router resolves with the agent's ACK of ``command``."""
    fut: asyncio.Future[AckMessage] = asyncio.get_running_loop().create_future()
    rt.ack_waiters.setdefault(command, []).append(fut)
    return fut


class Runner:
    """Runs instances; one per supervisor, stateless between calls but for its parts."""

    def __init__(
        self,
        *,
        launcher: Launcher,
        router: MessageRouter,
        ledger: Ledger,
        diagnostics: Diagnostics,
        plan_spawn: Callable[[InstanceRuntime], SpawnPlan],
        after_ack: Callable[[InstanceRuntime], None] | None = None,
        launch_check: LaunchCheck | None = None,
    ) -> None:
        self.launcher = launcher
        self.router = router
        self.ledger = ledger
        self.diagnostics = diagnostics
        self.plan_spawn = plan_spawn
        self.after_ack = after_ack  # commands an agent gets right after the ACK (capture pause)
        self.launch_check = launch_check

    async def run(self, rt: InstanceRuntime) -> None:
        """Run, restart with backoff, quarantine: the task body of one instance."""
        clock = rt.clock
        try:
            while True:
                try:
                    outcome = await self.run_once(rt)
                except Exception as exc:  # a bug ends this run, not the instance
                    log.exception("%s: supervisor error during a run", rt.instance_id)
                    rt.last_error = f"supervisor error: {type(exc).__name__}: {exc}"
                    self.diagnostics.record(
                        "lifecycle",
                        instance_id=rt.instance_id,
                        level="error",
                        event="run_failed",
                        message=rt.last_error,
                    )
                    outcome = "exited"
                if outcome != "exited" or rt.stop_requested.is_set():
                    break
                now = clock.monotonic()
                ran_for = now - (rt.started_mono if rt.started_mono is not None else now)
                decision = rt.tracker.on_exit(now=now, ran_for_s=ran_for)
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
        finally:
            if rt.proc is not None:
                rt.proc.kill_now()
                rt.end_run()
            self.router.report_drops(rt, final=True)
            if rt.state not in ("quarantined", "rejected", "failed", "untrusted"):
                rt.set_state("stopped")

    async def run_once(self, rt: InstanceRuntime) -> Outcome:
        """Spawn, handshake, supervise until it ends; say how it ended."""
        rt.set_state("starting")
        if self.launch_check is not None:
            refusal = await self.launch_check(rt.template)
            if refusal is not None:
                rt.last_error = f"launch refused: {refusal}"
                self.diagnostics.record(
                    "audit",
                    instance_id=rt.instance_id,
                    level="error",
                    action="launch_refused",
                    plugin_id=rt.template.plugin_id,
                    version=rt.template.version,
                    reason=refusal,
                )
                rt.set_state("untrusted", rt.last_error)
                return "untrusted"
        try:
            plan = self.plan_spawn(rt)
            os_proc = await self.launcher.spawn(
                plan.argv, env=plan.env, cwd=None, instance_id=rt.instance_id
            )
        except OSError as exc:
            rt.last_error = f"cannot start: {exc}"
            rt.set_state("failed", rt.last_error)
            return "failed"
        proc = AgentProcess(os_proc)
        rt.begin_run(proc)
        rt.spawned_signature = plan.signature
        self.diagnostics.record(
            "lifecycle", instance_id=rt.instance_id, event="spawned", pid=proc.pid
        )
        outcome: Outcome = "exited"
        try:
            async with asyncio.TaskGroup() as tg:
                out_task = tg.create_task(
                    proc.read_lines(
                        lambda line: self.router.on_line(rt, line),
                        lambda size: self.router.on_oversized(rt, size),
                        max_line_bytes=rt.settings.max_line_bytes,
                        before_chunk=lambda: self._before_chunk(rt),
                        on_chunk=lambda discarding: self._on_chunk(rt, discarding),
                    )
                )
                err_task = tg.create_task(proc.read_stderr(lambda t: self.router.on_stderr(rt, t)))
                outcome = await self._supervise(rt, proc, out_task)
                # read stdout to EOF before declaring the agent gone (bounded)
                done, _ = await asyncio.wait({out_task, err_task}, timeout=_EOF_AFTER_EXIT_S)
                for task in (out_task, err_task):
                    if task not in done:
                        log.warning("%s: output still open after exit; giving up", rt.instance_id)
                        task.cancel()
        finally:
            if proc.returncode is None:
                proc.kill_now()
            try:
                await proc.os.kill_tree()
            except OSError:
                log.exception("%s: could not end the agent's descendants", rt.instance_id)
            rt.end_run()
            if self.router.hook is not None:
                self.router.hook.forget(rt.instance_id)
        self.diagnostics.record(
            "lifecycle",
            instance_id=rt.instance_id,
            event="exited",
            outcome=outcome,
            returncode=proc.returncode,
        )
        return outcome

    async def _before_chunk(self, rt: InstanceRuntime) -> None:
        """Ledger back-pressure for everyone; a pause for an agent that is over its budget."""
        await self.ledger.wait_for_room()
        pressure = rt.budget.take_pressure()
        # never while stopping: the final summary must come through before the deadline
        if rt.state != "running" or rt.stop_requested.is_set():
            return
        if pressure:
            await asyncio.sleep(OVER_BUDGET_PAUSE_S)
        elif rt.discarding_output:
            await asyncio.sleep(DISCARD_PAUSE_S)

    def _on_chunk(self, rt: InstanceRuntime, discarding: bool) -> None:
        """Bytes arrived: the agent is not silent, even inside an endless line."""
        self.router.on_output(rt)
        rt.discarding_output = discarding

    async def _handshake(
        self, rt: InstanceRuntime, proc: AgentProcess, out_task: asyncio.Task[None]
    ) -> HandshakeMessage | None:
        """The first line, within the start timeout; None (and the reason) if not."""
        handshake = rt.handshake
        assert handshake is not None
        first: set[asyncio.Future[Any]] = {handshake, out_task}
        await asyncio.wait(
            first, timeout=rt.settings.start_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if handshake.done() and not handshake.cancelled():
            error = handshake.exception()
            if error is None:
                return handshake.result()
            rt.last_error = f"bad handshake: {error}"
        elif out_task.done():
            rt.last_error = f"exited before the handshake (code {proc.returncode})"
        else:
            rt.last_error = f"no handshake within {rt.settings.start_timeout_s:g}s"
        self.diagnostics.record(
            "lifecycle",
            instance_id=rt.instance_id,
            level="error",
            event="handshake_failed",
            message=rt.last_error,
        )
        return None

    async def _supervise(
        self, rt: InstanceRuntime, proc: AgentProcess, out_task: asyncio.Task[None]
    ) -> Outcome:
        settings = rt.settings
        label = rt.instance_id
        hello = await self._handshake(rt, proc, out_task)
        if hello is None:
            await proc.terminate(settings.stop_grace_s, label=label)
            return "exited"
        rt.agent_version = hello.agent_version[:64]
        rt.protocol_version = hello.protocol_version[:16]
        if hello.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            await proc.send(RejectCommand(reason="protocol_version_mismatch"), timeout_s=1.0)
            rt.last_error = (
                f"protocol version {rt.protocol_version!r} not supported "
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
            rt.end_run()  # gone before it is shown rejected: a reader never sees its pid
            rt.set_state("rejected", rt.last_error)
            return "rejected"
        await proc.send(
            AckCommand(app_version=APP_VERSION, protocol_version=hello.protocol_version),
            timeout_s=settings.start_timeout_s,
        )
        if self.after_ack is not None:  # synchronous: nothing runs between it and "running"
            self.after_ack(rt)
        rt.next_flush_mono = rt.clock.monotonic() + rt.flush_interval_s
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
            if await proc.wait(settings.stop_grace_s):
                rt.last_error = f"exited unexpectedly (code {proc.returncode})"
            else:
                rt.last_error = "closed its output but kept running"
                await proc.terminate(settings.stop_grace_s, label=label)
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
            await self.graceful_stop(rt, proc, out_task)
            return "exited"
        await self.graceful_stop(rt, proc, out_task)
        return "stopped"

    async def graceful_stop(
        self, rt: InstanceRuntime, proc: AgentProcess, out_task: asyncio.Task[None]
    ) -> None:
        """sequence [stop, flush, shutdown]; wait (absolute deadline) for the ACK and EOF;
        then close stdin, SIGTERM the group, SIGKILL after the grace period."""
        rt.set_state("stopping")
        grace = rt.settings.stop_grace_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # every step of the sequence is answered: those ACKs were asked for (never budgeted)
        for step in STOP_SEQUENCE[:-1]:
            ack_waiter(rt, step)
        shutdown_ack = ack_waiter(rt, "shutdown")
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
        result = await proc.terminate(grace, label=rt.instance_id)
        self.diagnostics.record(
            "lifecycle",
            instance_id=rt.instance_id,
            event="stopped",
            returncode=result.returncode,
            ending=result.ending,
            graceful=sent and result.ending == "exited",
            descendants_killed=result.descendants_killed,
        )


__all__ = ["LaunchCheck", "Outcome", "Runner", "ack_waiter"]
