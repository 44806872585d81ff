"""The shipper as a loop: Operations' ``[sync]`` service and ``mimolo sync``.

A pass runs in its own (daemon) thread, so PostgreSQL never blocks the event loop; between
passes the loop waits ``interval_s``, or backs off (``mimolo.backoff``, with jitter) after
a failure: the store being away is normal, and the local ledger holds everything until
it is back. ``status()`` is what ``get_status``, ``mimolo status`` and the dashboard show.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from psycopg.conninfo import conninfo_to_dict

from mimolo.backoff import backoff_delay
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError, TeamStoreError
from mimolo.protocol.config_schema import SyncSettings
from mimolo.team.local_files import local_tip
from mimolo.team.sync import PassResult, Shipper

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 300.0
_T = TypeVar("_T")
_SHOWN_KEYS = ("service", "host", "port", "dbname", "user", "sslmode")


def describe_target(conninfo: str) -> str:
    """Where the store is, for people: the conninfo's service, host, database and user
    (never a password, even one given against the advice)."""
    try:
        parts = conninfo_to_dict(conninfo)
    except Exception:
        return "(a conninfo libpq cannot parse)"
    shown = [f"{key}={parts[key]}" for key in _SHOWN_KEYS if parts.get(key)]
    return " ".join(shown) or "(the PG* environment variables)"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


async def in_thread(func: Callable[[], _T], stop: threading.Event) -> _T:
    """``func()`` in a daemon thread; on cancellation ``stop`` is set and the thread ends
    after its current batch on its own (it holds no lock the loop needs)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def work() -> None:
        try:
            value = func()
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, False, exc)
        else:
            loop.call_soon_threadsafe(settle, True, value)

    threading.Thread(target=work, name="mimolo-sync", daemon=True).start()
    try:
        return await future
    except asyncio.CancelledError:
        stop.set()
        raise


class SyncService:
    """Ships passes forever; its ``status`` is plain data."""

    def __init__(
        self,
        data_root: DataRoot,
        settings: SyncSettings,
        *,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.data_root = data_root
        self.settings = settings
        self._on_event = on_event
        self._now = now
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._shipper: Shipper | None = None
        self._busy = False  # a pass runs in the worker thread
        self.state = "starting"
        self.failures = 0
        self.host_id: str | None = None
        self.acked_seq = 0
        self.local_seq = 0
        self.records_shipped = 0
        self.chain_breaks = 0
        self.last_pass_at: datetime | None = None
        self.caught_up_at: datetime | None = None
        self.last_error: MimoloError | None = None
        self.last_error_at: datetime | None = None
        self.next_attempt_at: datetime | None = None

    def _event(self, event: str, **fields: Any) -> None:
        if self._on_event is not None:
            self._on_event(event, fields)

    def _pass(self) -> PassResult:
        """One pass (in the worker thread); the connection is closed there if the service
        was stopped meanwhile."""
        self._busy = True
        try:
            if self._shipper is None:
                self._shipper = Shipper(
                    self.data_root, self.settings.conninfo, batch_size=self.settings.batch_size
                )
                self.host_id = self._shipper.host_id
            return self._shipper.run_pass(stop=self._stop)
        finally:
            self._busy = False
            if self._stop.is_set() and self._shipper is not None:
                self._shipper.close()

    def record_pass(self, result: PassResult) -> None:
        """Fold a pass's result into the status."""
        now = self._now()
        if self.last_error is not None:
            self._event("sync_recovered", after_failures=self.failures)
        self.failures, self.last_error, self.last_error_at = 0, None, None
        self.acked_seq, self.local_seq = result.acked_seq, result.local_seq
        self.records_shipped += result.records
        self.chain_breaks += result.breaks
        self.last_pass_at = now
        if result.caught_up:
            self.caught_up_at = now
        if result.breaks:
            self._event("sync_chain_breaks", count=result.breaks, host_id=self.host_id)

    def record_failure(self, exc: MimoloError) -> float:
        """Fold a failure into the status; the delay before the next attempt."""
        now = self._now()
        delay = backoff_delay(
            self.failures,
            initial_s=BACKOFF_INITIAL_S,
            max_s=max(BACKOFF_MAX_S, self.settings.interval_s),
            rng=self._rng,
        )
        self.failures += 1
        self.last_error, self.last_error_at = exc, now
        self.local_seq = max(self.local_seq, local_tip(self.data_root.evidence_dir))
        self._event("sync_failed", code=exc.code, message=exc.message, attempt=self.failures)
        return delay

    async def run(self) -> None:
        """Until cancelled."""
        try:
            while True:
                self.state = "shipping"
                try:
                    result = await in_thread(self._pass, self._stop)
                except Exception as exc:  # the boundary: a failed pass never stops Operations
                    if not isinstance(exc, MimoloError):
                        log.exception("a sync pass failed unexpectedly")
                        exc = TeamStoreError(f"a sync pass failed: {exc!r}")
                    if exc.code == "team_host_unknown":
                        self._shipper = None  # re-read the host key and role next time
                    delay = self.record_failure(exc)
                    self.state = "backing_off"
                else:
                    self.record_pass(result)
                    delay = self.settings.interval_s if result.caught_up else 0.0
                    self.state = "idle"
                self.next_attempt_at = datetime.fromtimestamp(self._now().timestamp() + delay, UTC)
                await asyncio.sleep(delay)
        finally:
            self._stop.set()
            if not self._busy and self._shipper is not None:
                self._shipper.close()
            self.state = "stopped"

    def status(self) -> dict[str, Any]:
        """The service at a glance (``get_status``'s ``sync``)."""
        now = self._now()
        lag = max(0, self.local_seq - self.acked_seq)
        since = self.caught_up_at
        lag_s = 0.0 if lag == 0 or since is None else max(0.0, (now - since).total_seconds())
        error = None
        if self.last_error is not None:
            error = {
                "code": self.last_error.code,
                "message": self.last_error.message,
                "at": _iso(self.last_error_at),
            }
        return {
            "enabled": True,
            "state": self.state,
            "target": describe_target(self.settings.conninfo),
            "host_id": self.host_id,
            "acked_seq": self.acked_seq,
            "local_seq": self.local_seq,
            "lag_records": lag,
            "lag_s": round(lag_s, 1),
            "records_shipped": self.records_shipped,
            "chain_breaks": self.chain_breaks,
            "failures": self.failures,
            "last_pass_at": _iso(self.last_pass_at),
            "last_error": error,
            "next_attempt_at": _iso(self.next_attempt_at),
        }


__all__ = [
    "BACKOFF_INITIAL_S",
    "BACKOFF_MAX_S",
    "SyncService",
    "TeamStoreError",
    "describe_target",
    "in_thread",
]
