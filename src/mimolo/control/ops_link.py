"""Control's link to Operations: one IPC client, an ``available`` flag, reconnect with backoff.

Control must keep working read-only while Operations is down. A background task pings the
control socket: while Operations answers, every ``poll_interval_s``; while it does not, after
a capped exponential backoff (so the page notices within a few seconds that it is back).
Requests made while Operations is down fail at once with ``OperationsUnavailable`` instead of
waiting on a dead socket. A transient failure (``busy``, a connection reset or closed for
idleness, an answer too large) is retried briefly before Operations counts as down, and the
paged list answers (``get_agent_states``, ``get_agent_instances``) are followed to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from mimolo.backoff import backoff_delay
from mimolo.errors import IpcError, OperationsUnavailable
from mimolo.ipc.client import OpsClient
from mimolo.ipc.resilient import RetryPolicy, request_pages, request_retrying

log = logging.getLogger(__name__)


# List answers that come in pages, and the key holding the list.
PAGED: Final = {"get_agent_states": "agents", "get_agent_instances": "instances"}
LINK_POLICY: Final = RetryPolicy(attempts=3, initial_s=0.1, max_s=0.5, total_s=2.0)


class _Client(Protocol):
    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


class OpsLink:
    """The one object Control's routes use to talk to Operations."""

    def __init__(
        self,
        socket_path: Path,
        *,
        poll_interval_s: float = 2.0,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 2.0,
        request_timeout_s: float = 15.0,
        client_factory: Callable[[Path], _Client] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry: RetryPolicy = LINK_POLICY,
    ) -> None:
        self.socket_path = socket_path
        self.poll_interval_s = poll_interval_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.request_timeout_s = request_timeout_s
        self._factory = client_factory or self._default_client
        self._sleep = sleep
        self.retry = retry
        self._client: _Client | None = None
        self.available = False
        self.last_error: str | None = "not connected yet"
        self.since: datetime = datetime.now(UTC)
        self.status: dict[str, Any] = {}
        self._failures = 0
        self._wake = asyncio.Event()

    def _default_client(self, path: Path) -> _Client:
        return OpsClient(path, timeout=self.request_timeout_s, connect_attempts=1)

    def _set_available(self, available: bool, error: str | None) -> None:
        if available != self.available:
            self.since = datetime.now(UTC)
            if available:
                log.info("Operations is available on %s", self.socket_path)
            else:
                log.warning("Operations is unavailable: %s", error)
        self.available = available
        self.last_error = error

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def probe(self) -> bool:
        """Ping Operations once and update ``available``; never raises."""
        try:
            if self._client is None:
                self._client = self._factory(self.socket_path)
            self.status = await request_retrying(
                self._client.request, "get_status", policy=self.retry, sleep=self._sleep
            )
        except OperationsUnavailable as exc:
            await self._drop_client()
            self._set_available(False, exc.message)
        except IpcError as exc:
            await self._drop_client()
            self._set_available(False, f"{exc.code}: {exc.message}")
        else:
            self._failures = 0
            self._set_available(True, None)
            return True
        self._failures += 1
        return False

    def next_delay(self) -> float:
        """How long the monitor waits before the next probe."""
        if self.available:
            return self.poll_interval_s
        return backoff_delay(
            self._failures - 1, initial_s=self.backoff_initial_s, max_s=self.backoff_max_s
        )

    async def run(self) -> None:
        """Probe forever (until cancelled); a failed request wakes it early."""
        try:
            while True:
                await self.probe()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.next_delay())
        finally:
            await self._drop_client()

    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send ``cmd`` (retried while transient; every page of a paged list unless an
        ``offset`` is given); raise ``OperationsUnavailable`` at once when Operations is down."""
        client = self._client
        if not self.available or client is None:
            raise OperationsUnavailable(self.last_error or "Operations is not connected")
        try:
            key = PAGED.get(cmd)
            if key is not None and "offset" not in fields:
                return await request_pages(
                    client.request, cmd, key, policy=self.retry, sleep=self._sleep, **fields
                )
            return await request_retrying(
                client.request, cmd, policy=self.retry, sleep=self._sleep, **fields
            )
        except OperationsUnavailable as exc:
            self._set_available(False, exc.message)
            await self._drop_client()
            self._wake.set()
            raise


__all__ = ["LINK_POLICY", "PAGED", "OpsLink"]
