"""The Operations service: lock, config, ledger, diagnostics, supervisor and snapshot,
run together until a shutdown is requested (signal or ``request_shutdown``).

Extra async services (the control socket, ``mimolo.ipc.server.api.control_socket_service``,
which the CLI composes in) are started in the same task group and cancelled before the
agents are stopped. Shutdown order: stop accepting requests, stop all
agents in parallel (final summaries reach the ledger), then commit + fsync the ledger and
diagnostics, write the final snapshot, release the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mimolo import APP_VERSION
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError
from mimolo.operations.config import TemplateResolver, builtin_resolver, load_config
from mimolo.operations.containment import Containment
from mimolo.operations.diagnostics import Diagnostics
from mimolo.operations.host_key import load_or_create_host_key
from mimolo.operations.ledger import Ledger
from mimolo.operations.lock import OpsLock
from mimolo.operations.package_templates import PackageCatalog, with_packages
from mimolo.operations.snapshot import OpsSnapshot, SelfMeter, SnapshotWriter, write_snapshot
from mimolo.operations.subprocess_launcher import SubprocessLauncher
from mimolo.operations.supervisor import Supervisor, SupervisorEvent

if TYPE_CHECKING:
    from mimolo.team.service import SyncService

log = logging.getLogger(__name__)

ExtraService = Callable[["Operations"], Coroutine[Any, Any, None]]


class Operations:
    """One Operations process for one data root."""

    def __init__(
        self,
        data_root: DataRoot,
        *,
        resolve: TemplateResolver | None = None,
        extra_services: Sequence[ExtraService] = (),
        listener: Callable[[SupervisorEvent], None] | None = None,
        tick_s: float = 1.0,
        handle_signals: bool = True,
        containment_mode: str | None = None,
        developer_mode: bool = False,
    ) -> None:
        self.data_root = data_root
        # installed packages resolve after the built-ins (an install never shadows one)
        self.packages = PackageCatalog(data_root)
        self.resolve = with_packages(resolve or builtin_resolver(), self.packages)
        self.developer_mode_flag = developer_mode  # `mimolo ops --developer-mode`
        self.extra_services = tuple(extra_services)
        self._listener = listener
        self.tick_s = tick_s
        self.handle_signals = handle_signals
        self.containment_mode = containment_mode  # None: the best this machine offers
        self.containment: Containment | None = None
        self.lock = OpsLock(data_root.lock_path)
        self.started_at = datetime.now(UTC)
        self.pid = os.getpid()
        self._shutdown = asyncio.Event()
        self._ready = asyncio.Event()
        self.service_error: str | None = None  # why an extra service took Operations down
        self._meter: SelfMeter | None = None
        self._last_self: tuple[float | None, float | None] = (None, None)
        self._supervisor: Supervisor | None = None
        self._diagnostics: Diagnostics | None = None
        self._ledger: Ledger | None = None
        self.snapshots: SnapshotWriter | None = None
        self.sync: SyncService | None = None  # the [sync] team store shipper, when set

    # ---- parts, available once run() has started ------------------------------------

    @property
    def supervisor(self) -> Supervisor:
        assert self._supervisor is not None, "Operations is not running"
        return self._supervisor

    @property
    def diagnostics(self) -> Diagnostics:
        assert self._diagnostics is not None, "Operations is not running"
        return self._diagnostics

    @property
    def ledger(self) -> Ledger:
        assert self._ledger is not None, "Operations is not running"
        return self._ledger

    async def wait_ready(self) -> None:
        """Until the supervisor runs (agents autostarted) and extra services started."""
        await self._ready.wait()

    def request_shutdown(self) -> None:
        """Ask ``run`` to stop everything cleanly (safe from signal handlers and IPC)."""
        self._shutdown.set()

    @property
    def shutting_down(self) -> bool:
        return self._shutdown.is_set()

    def status_extra(self) -> dict[str, object]:
        """Operations-level figures for ``get_status``."""
        cpu, rss = self._last_self
        return {
            "ops_cpu_percent": cpu,
            "ops_rss_mb": rss,
            "ledger_last_seq": self._ledger.last_seq if self._ledger else 0,
            "ledger_durable_seq": self._ledger.durable_seq if self._ledger else 0,
            "diagnostics_dropped": self._diagnostics.dropped_total if self._diagnostics else 0,
            "agent_drops_total": self._supervisor.drops_total() if self._supervisor else 0,
            "containment": self.containment.mode if self.containment else "unknown",
            "containment_detail": self.containment.detail if self.containment else "",
            "developer_mode": self.packages.developer_mode,
            "sync": self.sync.status() if self.sync is not None else {"enabled": False},
        }

    def build_snapshot(self, state: str = "running") -> OpsSnapshot:
        """The current snapshot (also measures Operations itself)."""
        if self._meter is not None:
            self._last_self = self._meter.sample()
        cpu, rss = self._last_self
        return OpsSnapshot(
            pid=self.pid,
            state="stopped" if state == "stopped" else "running",
            started_at=self.started_at,
            written_at=datetime.now(UTC),
            data_root=str(self.data_root.root),
            ops_cpu_percent=cpu,
            ops_rss_mb=rss,
            ledger_last_seq=self._ledger.last_seq if self._ledger else 0,
            instances=self._supervisor.states() if self._supervisor else [],
        )

    def _on_event(self, event: SupervisorEvent) -> None:
        if self.snapshots is not None:
            self.snapshots.changed()
        if self._listener is not None:
            self._listener(event)

    # ---- run ------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire the lock and run until shutdown. Raises AlreadyRunning / ConfigError, and
        ``MimoloError`` (code ``service_failed``) when a service such as the control socket
        failed and so stopped Operations (after the agents were stopped gracefully)."""
        self.data_root.ensure()
        self.lock.acquire()
        try:
            await self._run_locked()
        finally:
            self.lock.release()
        if self.service_error is not None:
            raise MimoloError(self.service_error, code="service_failed")

    async def _run_locked(self) -> None:
        config = load_config(self.data_root, self.resolve)
        settings = config.settings
        ledger = Ledger(
            self.data_root,
            fsync_interval_s=settings.ledger_fsync_interval_ms / 1000,
            max_pending=max(1000, settings.queue_max * 20),
            host_key=load_or_create_host_key(self.data_root),
        )
        recovery = ledger.open()
        diagnostics = Diagnostics(
            self.data_root, retention_days=settings.diagnostics_retention_days
        )
        diagnostics.open()
        self._ledger, self._diagnostics = ledger, diagnostics
        self._package_mode(settings.developer_mode, diagnostics)
        containment = self._contain(diagnostics)
        for path in recovery.quarantined:
            diagnostics.record("lifecycle", level="warning", event="ledger_torn_tail", path=path)
        diagnostics.record(
            "lifecycle",
            event="operations_started",
            pid=self.pid,
            version=APP_VERSION,
            last_seq=recovery.last_seq,
            instances=sorted(config.instances),
        )
        self._supervisor = Supervisor(
            self.data_root,
            config,
            ledger,
            diagnostics,
            resolve=self.resolve,
            listener=self._on_event,
            tick_s=self.tick_s,
            launcher=SubprocessLauncher(containment),
            launch_check=self.packages.launch_check,
        )
        self._meter = SelfMeter()
        self.snapshots = SnapshotWriter(self.data_root, self.build_snapshot)
        if config.sync is not None and config.sync.enabled:
            from mimolo.team.service import SyncService  # psycopg only when [sync] is set

            self.sync = SyncService(
                self.data_root,
                config.sync,
                on_event=lambda event, fields: diagnostics.record(
                    "lifecycle", level="info" if event == "sync_recovered" else "warning",
                    event=event, **fields,
                ),
            )  # fmt: skip
        loop = asyncio.get_running_loop()
        if self.handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_shutdown)
        try:
            async with asyncio.TaskGroup() as tg:
                writers = [
                    tg.create_task(ledger.run(), name="ledger"),
                    tg.create_task(diagnostics.run(), name="diagnostics"),
                ]
                snap_task = tg.create_task(self.snapshots.run(), name="snapshot")
                contain_task = tg.create_task(self._tend(containment), name="containment")
                sup_task = tg.create_task(self._supervisor.run(autostart=False), name="supervisor")
                extras = [
                    tg.create_task(self._guard(svc), name="service") for svc in self.extra_services
                ]
                if self.sync is not None:
                    extras.append(tg.create_task(self.sync.run(), name="sync"))
                started = asyncio.ensure_future(self._supervisor.wait_started())
                await asyncio.wait({started, sup_task}, return_when=asyncio.FIRST_COMPLETED)
                started.cancel()
                if not self._shutdown.is_set() and not sup_task.done():
                    await self._supervisor.start_all(only_enabled=True)
                self._ready.set()
                await self._shutdown.wait()
                log.info("Operations shutting down")
                await _cancel(extras)
                await self._supervisor.stop_all()
                await _cancel([sup_task, snap_task, contain_task])
                diagnostics.record("lifecycle", event="operations_stopped", pid=self.pid)
                await _cancel(writers)
                with contextlib.suppress(OSError):
                    write_snapshot(self.data_root, self.build_snapshot("stopped"))
        finally:
            containment.close()  # after every agent stopped: nothing is left to sweep
            self._ready.set()
            if self.handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)

    def _package_mode(self, setting: bool, diagnostics: Diagnostics) -> None:
        """Release mode unless the flag or the setting asks for developer mode: said loudly."""
        self.packages.developer_mode = self.developer_mode_flag or setting
        if self.packages.developer_mode:
            via = "--developer-mode" if self.developer_mode_flag else "settings.developer_mode"
            message = (
                f"DEVELOPER MODE ({via}): packages install and run without a trusted signature "
                "or an allowlist entry; they are shown as UNVERIFIED"
            )
            log.warning(message)
            diagnostics.record(
                "lifecycle", level="warning", event="developer_mode", via=via, message=message
            )

    def _contain(self, diagnostics: Diagnostics) -> Containment:
        """Containment for this run: end what a killed predecessor left, start the guardian."""
        containment = Containment.create(self.data_root, mode=self.containment_mode)
        ended = containment.reap_leftovers()
        if ended:
            diagnostics.record(
                "lifecycle", level="warning", event="leftovers_ended", pids=ended[:100]
            )
        containment.start_guardian()
        self.containment = containment
        diagnostics.record(
            "lifecycle", event="containment", mode=containment.mode, detail=containment.detail
        )
        log.info("containment: %s (%s)", containment.mode, containment.detail)
        return containment

    async def _tend(self, containment: Containment) -> None:
        """Record agents' descendants and reap adopted orphans, off the event loop (not
        needed at all with cgroups, which hold every descendant by themselves)."""
        if not containment.needs_tending:
            return
        while True:
            await asyncio.sleep(max(1.0, self.tick_s * 5))
            running = [(s.instance_id, s.pid) for s in self.supervisor.states() if s.pid]
            await asyncio.to_thread(_tend_once, containment, running)

    async def _guard(self, service: ExtraService) -> None:
        """An extra service that fails takes Operations down gracefully, not abruptly."""
        try:
            await service(self)
        except Exception as exc:
            log.exception("service failed; shutting down")
            self.diagnostics.record(
                "lifecycle", level="error", event="service_failed", error=repr(exc)
            )
            self.service_error = f"{getattr(service, '__name__', 'service')} failed: {exc}"
            self.request_shutdown()


def _tend_once(containment: Containment, running: list[tuple[str, int]]) -> None:
    containment.refresh_all(running)
    containment.reap_orphans()


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


__all__ = ["ExtraService", "Operations"]
