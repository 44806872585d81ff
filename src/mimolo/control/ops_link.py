"""Control's link to Operations: one IPC client, an ``available`` flag, reconnect with backoff.

Control must keep working read-only while Operations is down. A background task pings the
control socket: while Operations answers, every ``poll_interval_s``; while it does not, after
a capped exponential backoff (so the page notices within a few seconds that it is back).
Requests made while Operations is down fail at once with ``OperationsUnavailable`` instead of
waiting on a dead socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mimolo.errors import IpcError, OperationsUnavailable
from mimolo.ipc.client import OpsClient

log = logging.getLogger(__name__)


def backoff_delay(attempt: int, *, initial_s: float, maximum_s: float) -> float:
    """Delay before reconnect attempt ``attempt`` (0-based): doubling, capped."""
    if attempt <= 0:
        return initial_s
    return float(min(maximum_s, initial_s * (2 ** min(attempt, 30))))


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
    ) -> None:
        self.socket_path = socket_path
        self.poll_interval_s = poll_interval_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.request_timeout_s = request_timeout_s
        self._factory = client_factory or self._default_client
        self._sleep = sleep
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
            self.status = await self._client.request("get_status")
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
            self._failures - 1, initial_s=self.backoff_initial_s, maximum_s=self.backoff_max_s
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
        """Send ``cmd``; raise ``OperationsUnavailable`` at once when Operations is down."""
        if not self.available or self._client is None:
            raise OperationsUnavailable(self.last_error or "Operations is not connected")
        try:
            return await self._client.request(cmd, **fields)
        except OperationsUnavailable as exc:
            self._set_available(False, exc.message)
            await self._drop_client()
            self._wake.set()
            raise


__all__ = ["OpsLink", "backoff_delay"]
