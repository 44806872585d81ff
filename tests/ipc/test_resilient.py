"""Clients ride out ``busy``, closed and reset connections, and give up within bounds.

Read-only commands are retried after any transient failure; a mutating one only when it
was never read (``busy``, nothing accepting the connection). Nothing raises a bare
``OSError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mimolo.control.ops_link import OpsLink
from mimolo.errors import ConnectionLost, IpcError, NotConnected, RemoteError
from mimolo.ipc import (
    OpsClient,
    RetryPolicy,
    request_retrying,
    request_retrying_sync,
    request_sync,
)
from mimolo.ipc.resilient import is_transient
from mimolo.ipc.server.socket_server import IpcServer

from ._support import RawClient, make_registry
from .server._ops_fakes import full_state, serving, short_root

pytestmark = pytest.mark.anyio

PATIENT = RetryPolicy(attempts=100, initial_s=0.05, max_s=0.2, total_s=60.0)


@pytest.mark.parametrize(
    ("error", "read_only", "mutating"),
    [
        (RemoteError("busy", code="busy"), True, True),
        (RemoteError("too big", code="response_too_large"), True, False),
        (IpcError("slow", code="timeout"), True, False),
        (ConnectionLost("reset"), True, False),
        (NotConnected("refused"), True, True),
        (NotConnected("no socket", absent=True), False, False),
        (RemoteError("bad", code="invalid_field"), False, False),
    ],
)
def test_what_is_retried(error: IpcError, read_only: bool, mutating: bool) -> None:
    assert is_transient(error, idempotent=True) is read_only
    assert is_transient(error, idempotent=False) is mutating


class Counting:
    """A unix server that accepts, reads one line, then closes without answering."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, OSError):
            await reader.readline()
        writer.close()


@pytest.fixture
async def hangs_up(socket_path: Path) -> AsyncIterator[Counting]:
    socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    counting = Counting()
    server = await asyncio.start_unix_server(counting.handle, path=str(socket_path))
    async with server:
        yield counting


async def test_a_closed_connection_is_retried_only_for_reads(
    socket_path: Path, hangs_up: Counting
) -> None:
    pauses: list[float] = []
    policy = RetryPolicy(attempts=3, initial_s=0.01, max_s=0.02)
    with pytest.raises(ConnectionLost):
        await asyncio.to_thread(
            request_retrying_sync, socket_path, "ping", policy=policy, sleep=pauses.append
        )
    assert hangs_up.connections == 3 and len(pauses) == 2
    with pytest.raises(ConnectionLost):
        await asyncio.to_thread(
            request_retrying_sync, socket_path, "start_agent", instance_id="a", policy=policy
        )
    assert hangs_up.connections == 4  # sent once: it may have run


def test_no_socket_fails_at_once(tmp_path: Path) -> None:
    pauses: list[float] = []
    with pytest.raises(NotConnected) as info:
        request_retrying_sync(tmp_path / "absent.sock", "ping", sleep=pauses.append)
    assert info.value.absent and pauses == []


@pytest.fixture
async def one_slot(socket_path: Path) -> AsyncIterator[IpcServer]:
    async with IpcServer(socket_path, make_registry(), max_connections=1) as server:
        yield server


async def test_busy_is_retried_until_a_slot_frees(one_slot: IpcServer) -> None:
    holder = await RawClient.open(one_slot.socket_path)
    await holder.send(b'{"cmd":"sleep","seconds":1.0,"request_id":"hold"}\n')
    await asyncio.sleep(0.2)
    with pytest.raises(RemoteError) as info:  # no retry: busy at once
        await asyncio.to_thread(request_sync, one_slot.socket_path, "ping", timeout=10)
    assert info.value.code == "busy"
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    answer = await asyncio.to_thread(
        request_retrying_sync, one_slot.socket_path, "ping", policy=PATIENT, sleep=pause
    )
    assert answer == {"pong": True} and pauses
    assert (await holder.recv())["request_id"] == "hold"
    await holder.close()


async def test_busy_that_lasts_ends_in_the_busy_error(one_slot: IpcServer) -> None:
    holder = await RawClient.open(one_slot.socket_path)
    await holder.send(b'{"cmd":"sleep","seconds":5,"request_id":"hold"}\n')
    await asyncio.sleep(0.2)
    pauses: list[float] = []
    policy = RetryPolicy(attempts=3, initial_s=0.01, max_s=0.02)
    with pytest.raises(RemoteError) as info:
        await asyncio.to_thread(
            request_retrying_sync, one_slot.socket_path, "ping", policy=policy, sleep=pauses.append
        )
    assert info.value.code == "busy" and len(pauses) == 2
    holder.writer.transport.abort()


async def test_a_persistent_client_survives_the_idle_timeout(socket_path: Path) -> None:
    async with (
        IpcServer(socket_path, make_registry(), idle_timeout_s=0.2),
        OpsClient(socket_path) as client,
    ):
        assert await client.request("ping") == {"pong": True}
        await asyncio.sleep(1.0)  # the server closes the idle connection meanwhile
        answer = await request_retrying(client.request, "ping", policy=PATIENT)
        assert answer == {"pong": True}


async def test_control_link_follows_pages_and_rides_out_idle_closes() -> None:
    with short_root() as root:
        states = [full_state(f"i{n:03d}") for n in range(250)]
        async with serving(root, states, idle_timeout_s=0.3):
            link = OpsLink(root.socket_path, retry=PATIENT)
            assert await link.probe() is True
            data = await link.request("get_agent_states")
            assert [a["instance_id"] for a in data["agents"]] == [s.instance_id for s in states]
            assert data["next_offset"] is None
            one_page: dict[str, Any] = await link.request("get_agent_states", offset=0, limit=3)
            assert len(one_page["agents"]) == 3
            await asyncio.sleep(1.0)  # idle-closed by the server
            assert len((await link.request("get_agent_instances"))["instances"]) == 0
            assert link.available is True
            await link._drop_client()
