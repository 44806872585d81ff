"""Requests that ride out a busy or restarting Operations, and list answers that are paged.

A transient failure (``busy``, ``response_too_large``, a refused, reset or timed-out
connection) is retried with a short, bounded backoff; what is safe to retry depends on
whether the command changes anything (a mutating request is sent again only when it was
never read). ``get_agent_states`` and ``get_agent_instances`` answer one page at a time
(``next_offset``); the ``*_pages`` helpers follow the pages and return the whole list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mimolo.backoff import backoff_delay
from mimolo.errors import ConnectionLost, IpcError, NotConnected
from mimolo.ipc.client import DEFAULT_TIMEOUT_S, request_sync

log = logging.getLogger(__name__)

# Commands that change nothing: safe to send again after any transient failure.
READ_ONLY_COMMANDS: Final = frozenset(
    {
        "hello",
        "ping",
        "get_status",
        "get_diagnostics_tail",
        "list_agent_templates",
        "get_agent_instances",
        "get_agent_states",
        "get_widget_manifest",
    }
)
TRANSIENT_CODES: Final = frozenset({"busy", "response_too_large", "timeout"})
MAX_PAGES: Final = 10_000

Send = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries at most, ``initial_s`` doubling up to ``max_s`` between them; no
    new attempt starts after ``total_s`` (so the worst case is ``total_s`` plus one timeout)."""

    attempts: int = 4
    initial_s: float = 0.1
    max_s: float = 1.0
    total_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Pause after failed attempt ``attempt`` (0-based)."""
        return backoff_delay(attempt, initial_s=self.initial_s, max_s=self.max_s)


DEFAULT_POLICY: Final = RetryPolicy()


def is_transient(exc: IpcError, *, idempotent: bool) -> bool:
    """Whether sending the same request again may succeed and cannot do harm twice."""
    if isinstance(exc, NotConnected):
        return not exc.absent  # no socket at all: Operations is simply not running
    if exc.code == "busy":
        return True  # refused before the request was read (or nothing was changed)
    if not idempotent:
        return False
    return isinstance(exc, ConnectionLost) or exc.code in TRANSIENT_CODES


def request_retrying_sync(
    socket_path: Path | str,
    cmd: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    policy: RetryPolicy = DEFAULT_POLICY,
    idempotent: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **fields: Any,
) -> dict[str, Any]:
    """``request_sync`` retried through transient failures; the last error if they last."""
    safe = cmd in READ_ONLY_COMMANDS if idempotent is None else idempotent
    deadline = time.monotonic() + policy.total_s
    attempt = 0
    while True:
        try:
            return request_sync(socket_path, cmd, timeout=timeout, **fields)
        except IpcError as exc:
            pause = policy.delay(attempt)
            attempt += 1
            out_of_time = time.monotonic() + pause >= deadline
            if attempt >= policy.attempts or out_of_time or not is_transient(exc, idempotent=safe):
                raise
            log.debug("retrying %s in %.2f s after %s: %s", cmd, pause, exc.code, exc.message)
            sleep(pause)


async def request_retrying(
    send: Send,
    cmd: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    idempotent: bool | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **fields: Any,
) -> dict[str, Any]:
    """``await send(cmd, **fields)`` retried through transient failures."""
    safe = cmd in READ_ONLY_COMMANDS if idempotent is None else idempotent
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.total_s
    attempt = 0
    while True:
        try:
            return await send(cmd, **fields)
        except IpcError as exc:
            pause = policy.delay(attempt)
            attempt += 1
            out_of_time = loop.time() + pause >= deadline
            if attempt >= policy.attempts or out_of_time or not is_transient(exc, idempotent=safe):
                raise
            log.debug("retrying %s in %.2f s after %s: %s", cmd, pause, exc.code, exc.message)
            await sleep(pause)


class _Pages:
    """Accumulates the pages of one list answer (deduplicated by ``instance_id``)."""

    def __init__(self, key: str, offset: int) -> None:
        self.key = key
        self.offset = offset
        self.items: list[Any] = []
        self.seen: set[str] = set()
        self.last: dict[str, Any] = {}

    def add(self, page: dict[str, Any]) -> int | None:
        """Take one page; the offset of the next, or None when this was the last."""
        chunk = page.get(self.key)
        if not isinstance(chunk, list):
            raise IpcError(f"the answer has no {self.key!r} list")
        for item in chunk:
            ident = item.get("instance_id") if isinstance(item, dict) else None
            if isinstance(ident, str):
                if ident in self.seen:
                    continue  # the list shifted between pages
                self.seen.add(ident)
            self.items.append(item)
        self.last = page
        following = page.get("next_offset")
        if following is None:
            return None
        if not isinstance(following, int) or following <= self.offset:
            raise IpcError(f"the answer's next_offset {following!r} does not move forward")
        self.offset = following
        return following

    def result(self) -> dict[str, Any]:
        return {**self.last, self.key: self.items, "next_offset": None}


def request_pages_sync(
    socket_path: Path | str,
    cmd: str,
    key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    policy: RetryPolicy = DEFAULT_POLICY,
    **fields: Any,
) -> dict[str, Any]:
    """Every page of a list answer (``key`` holds the whole list), each page retried."""
    pages = _Pages(key, int(fields.get("offset", 0)))
    for _ in range(MAX_PAGES):
        page = request_retrying_sync(socket_path, cmd, timeout=timeout, policy=policy, **fields)
        following = pages.add(page)
        if following is None:
            return pages.result()
        fields["offset"] = following
    raise IpcError(f"{cmd} did not end within {MAX_PAGES} pages")


async def request_pages(
    send: Send,
    cmd: str,
    key: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **fields: Any,
) -> dict[str, Any]:
    """Async ``request_pages_sync`` over ``send`` (an ``OpsClient.request`` or the like)."""
    pages = _Pages(key, int(fields.get("offset", 0)))
    for _ in range(MAX_PAGES):
        page = await request_retrying(send, cmd, policy=policy, sleep=sleep, **fields)
        following = pages.add(page)
        if following is None:
            return pages.result()
        fields["offset"] = following
    raise IpcError(f"{cmd} did not end within {MAX_PAGES} pages")


__all__ = [
    "DEFAULT_POLICY",
    "MAX_PAGES",
    "READ_ONLY_COMMANDS",
    "TRANSIENT_CODES",
    "RetryPolicy",
    "is_transient",
    "request_pages",
    "request_pages_sync",
    "request_retrying",
    "request_retrying_sync",
]
