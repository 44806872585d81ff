"""Idle connections time out, and a full server still answers a newcomer.

Held idle connections used to make every new client get ``busy``; now the longest-idle
one is closed to make room, and only a server whose every connection is waiting for an
answer says ``busy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mimolo.ipc.server.socket_server import IpcServer

from .._support import RawClient, make_registry

pytestmark = pytest.mark.anyio


async def closed_by_server(client: RawClient, timeout: float = 20.0) -> bool:
    """True once the server has closed ``client`` (EOF or reset), False if still open."""
    try:
        data = await asyncio.wait_for(client.reader.read(65536), timeout)
    except TimeoutError:
        return False
    except (ConnectionError, OSError):
        return True
    return data == b""


async def still_open(client: RawClient) -> bool:
    """The connection answers a ping (so the server has not closed it)."""
    try:
        answer = await client.ask({"cmd": "ping", "request_id": "alive"})
    except (AssertionError, ConnectionError, OSError):
        return False
    return answer["ok"] is True


async def test_an_idle_connection_is_closed(socket_path: Path) -> None:
    async with IpcServer(socket_path, make_registry(), idle_timeout_s=0.3) as server:
        idle = await RawClient.open(socket_path)
        assert await closed_by_server(idle)
        await idle.close()
        await asyncio.sleep(0.1)
        assert len(server.table) == 0
        fresh = await RawClient.open(socket_path)
        assert (await fresh.ask({"cmd": "ping"}))["ok"] is True
        await fresh.close()


async def test_a_connection_waiting_for_a_slow_answer_is_not_idle(socket_path: Path) -> None:
    async with IpcServer(socket_path, make_registry(), idle_timeout_s=0.2):
        client = await RawClient.open(socket_path)
        answer = await client.ask({"cmd": "sleep", "seconds": 1.5, "request_id": "slow"})
        assert (answer["ok"], answer["request_id"]) == (True, "slow")
        # Idle again once answered: closed after the timeout.
        assert await closed_by_server(client)
        await client.close()


async def test_requests_keep_a_connection_open(socket_path: Path) -> None:
    async with IpcServer(socket_path, make_registry(), idle_timeout_s=10.0):
        client = await RawClient.open(socket_path)
        for i in range(20):
            assert (await client.ask({"cmd": "ping", "request_id": i}))["request_id"] == i
        await client.close()


async def test_a_full_server_closes_the_longest_idle_connection(socket_path: Path) -> None:
    async with IpcServer(
        socket_path, make_registry(), max_connections=3, evict_grace_s=0.0
    ) as server:
        first = await RawClient.open(socket_path)
        assert (await first.ask({"cmd": "ping"}))["ok"] is True
        second = await RawClient.open(socket_path)
        assert (await second.ask({"cmd": "ping"}))["ok"] is True
        third = await RawClient.open(socket_path)
        assert (await third.ask({"cmd": "ping"}))["ok"] is True
        assert (await first.ask({"cmd": "ping"}))["ok"] is True  # first is fresh again
        newcomer = await RawClient.open(socket_path)
        assert (await newcomer.ask({"cmd": "ping"}))["ok"] is True
        assert await closed_by_server(second)  # the longest idle made room
        assert await still_open(first) and await still_open(third)
        assert server.table.evictions == 1
        for client in (first, second, third, newcomer):
            await client.close()


async def test_a_connection_in_the_middle_of_a_request_is_never_evicted(
    socket_path: Path,
) -> None:
    async with IpcServer(socket_path, make_registry(), max_connections=2, evict_grace_s=0.0):
        waiting = await RawClient.open(socket_path)
        await waiting.send(b'{"cmd":"sleep","seconds":2,"request_id":"w"}\n')
        await asyncio.sleep(0.2)
        idle = await RawClient.open(socket_path)
        assert (await idle.ask({"cmd": "ping"}))["ok"] is True
        newcomer = await RawClient.open(socket_path)
        assert (await newcomer.ask({"cmd": "ping"}))["ok"] is True
        assert await closed_by_server(idle)
        answer = await waiting.recv()
        assert (answer["ok"], answer["request_id"]) == (True, "w")
        for client in (waiting, idle, newcomer):
            await client.close()


async def test_a_request_in_transit_is_never_evicted(socket_path: Path) -> None:
    async with IpcServer(socket_path, make_registry(), max_connections=1, evict_grace_s=0.5):
        fresh = await RawClient.open(socket_path)
        await asyncio.sleep(0.1)
        newcomer = await RawClient.open(socket_path)  # within the grace: fresh stays
        answer = await newcomer.recv()
        assert (answer["ok"], answer["error"]) == (False, "busy")
        await newcomer.close()
        assert (await fresh.ask({"cmd": "ping", "request_id": 1}))["request_id"] == 1
        await fresh.close()


async def test_busy_only_when_every_connection_waits_for_an_answer(socket_path: Path) -> None:
    async with IpcServer(socket_path, make_registry(), max_connections=2, evict_grace_s=0.0):
        a = await RawClient.open(socket_path)
        b = await RawClient.open(socket_path)
        for client in (a, b):
            await client.send(b'{"cmd":"sleep","seconds":2,"request_id":"s"}\n')
        await asyncio.sleep(0.2)
        refused = await RawClient.open(socket_path)
        answer = await refused.recv()
        assert (answer["ok"], answer["error"]) == (False, "busy")
        await refused.close()
        assert (await a.recv())["ok"] is True and (await b.recv())["ok"] is True
        later = await RawClient.open(socket_path)
        assert (await later.ask({"cmd": "ping"}))["ok"] is True
        for client in (a, b, later):
            await client.close()


@pytest.fixture
def many_files() -> None:
    """Room for 500 client sockets plus the server's own in this one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.fixture
async def crowded(socket_path: Path, many_files: None) -> AsyncIterator[IpcServer]:
    async with IpcServer(socket_path, make_registry(), drain_timeout_s=2.0) as server:
        yield server


async def test_ping_answers_with_500_idle_clients_and_one_that_never_reads(
    crowded: IpcServer,
) -> None:
    path = crowded.socket_path
    idle: list[RawClient] = []
    for _ in range(10):
        idle += await asyncio.gather(*(RawClient.open(path) for _ in range(50)))
    await asyncio.sleep(1.5)  # held, not just opened: past the eviction grace
    hog = await RawClient.open(path)
    dropped = asyncio.Event()

    async def flood() -> None:
        try:
            while True:
                hog.writer.write(b'{"cmd":"blob","size":60000}\n' * 20)
                await asyncio.wait_for(hog.writer.drain(), timeout=30)
        except (ConnectionError, OSError):
            dropped.set()

    flooder = asyncio.create_task(flood())
    pinger = await RawClient.open(path)
    try:
        for i in range(30):
            answer = await pinger.ask({"cmd": "ping", "request_id": i})
            assert (answer["ok"], answer["request_id"]) == (True, i)
            await asyncio.sleep(0.05)
        await asyncio.wait_for(dropped.wait(), timeout=60)  # the hog is still dropped
        late = await RawClient.open(path)
        assert (await late.ask({"cmd": "ping"}))["ok"] is True
        await late.close()
        assert len(crowded.table) <= crowded.max_connections
        assert crowded.table.evictions >= 1
        assert await closed_by_server(idle[0])  # the oldest idle ones made room
    finally:
        flooder.cancel()
        await asyncio.gather(flooder, return_exceptions=True)
        hog.writer.transport.abort()
        await pinger.close()
        for client in idle:
            with contextlib.suppress(ConnectionError, OSError):
                await client.close()
