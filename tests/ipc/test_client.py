"""``OpsClient`` and ``request_sync`` against a real control socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest

from mimolo.errors import IpcError, OperationsUnavailable, RemoteError
from mimolo.ipc import OpsClient, request_response_sync, request_sync
from mimolo.ipc.server.socket_server import IpcServer

from ._support import make_registry

pytestmark = pytest.mark.anyio


async def test_request_returns_data(server: IpcServer) -> None:
    async with OpsClient(server.socket_path) as client:
        assert await client.request("ping") == {"pong": True}
        assert await client.request("echo", text="ab", times=3) == {"text": "ababab"}


async def test_error_answer_raises_remote_error_with_code_and_field(
    server: IpcServer,
) -> None:
    async with OpsClient(server.socket_path) as client:
        with pytest.raises(RemoteError) as info:
            await client.request("echo", text="a", colour="red")
        assert info.value.code == "invalid_field"
        assert info.value.field == "colour"
        assert isinstance(info.value, IpcError)
        with pytest.raises(IpcError) as unknown:
            await client.request("nope")
        assert unknown.value.code == "unknown_command"
        # the connection survives errors
        assert await client.request("ping") == {"pong": True}


async def test_full_envelope_is_available(server: IpcServer) -> None:
    async with OpsClient(server.socket_path) as client:
        response = await client.request_response("refuse")
        assert response.ok is False
        assert response.error == "not_running"
        assert response.cmd == "refuse"


async def test_pipelined_requests_from_many_tasks(server: IpcServer) -> None:
    async with OpsClient(server.socket_path) as client:
        slow = asyncio.create_task(client.request("sleep", seconds=3.0))
        texts = await asyncio.gather(*(client.request("echo", text=str(i)) for i in range(50)))
        assert [t["text"] for t in texts] == [str(i) for i in range(50)]
        assert not slow.done()  # fast answers overtook the slow one on one connection
        assert await slow == {"slept": 3.0}


async def test_unreachable_operations_raises_operations_unavailable(tmp_path: Path) -> None:
    client = OpsClient(tmp_path / "absent.sock", connect_attempts=2, backoff_initial_s=0.01)
    with pytest.raises(OperationsUnavailable) as info:
        await client.request("ping")
    assert info.value.code == "ops_unavailable"
    await client.aclose()


async def test_reconnects_after_operations_restarts(socket_path: Path) -> None:
    client = OpsClient(socket_path, connect_attempts=50, backoff_initial_s=0.05)
    try:
        async with IpcServer(socket_path, make_registry()):
            assert await client.request("ping") == {"pong": True}
        # Operations went away: the next request fails clearly...
        client.connect_attempts = 2
        with pytest.raises(OperationsUnavailable):
            await client.request("ping")
        client.connect_attempts = 50

        # ...and once it is back the client reconnects by itself (with backoff).
        async def restart_later() -> IpcServer:
            await asyncio.sleep(0.5)
            server = IpcServer(socket_path, make_registry())
            await server.start()
            return server

        restarting = asyncio.create_task(restart_later())
        try:
            assert await client.request("ping") == {"pong": True}
        finally:
            await (await restarting).aclose()
    finally:
        await client.aclose()


async def test_server_closing_fails_in_flight_requests(socket_path: Path) -> None:
    server = IpcServer(socket_path, make_registry())
    await server.start()
    client = OpsClient(socket_path)
    try:
        pending = asyncio.create_task(client.request("sleep", seconds=30))
        await asyncio.sleep(0.3)
        await server.aclose()
        with pytest.raises(OperationsUnavailable):
            await asyncio.wait_for(pending, timeout=20)
    finally:
        await client.aclose()
        await server.aclose()


async def test_timeout_is_a_clear_error(server: IpcServer) -> None:
    async with OpsClient(server.socket_path, timeout=0.3) as client:
        with pytest.raises(IpcError) as info:
            await client.request("sleep", seconds=5)
        assert info.value.code == "timeout"


async def test_reserved_fields_are_refused(server: IpcServer) -> None:
    async with OpsClient(server.socket_path) as client:
        with pytest.raises(ValueError, match="request_id"):
            await client.request("ping", request_id="mine")


async def test_request_sync(server: IpcServer) -> None:
    path = server.socket_path
    assert await anyio.to_thread.run_sync(lambda: request_sync(path, "ping")) == {"pong": True}
    response = await anyio.to_thread.run_sync(lambda: request_response_sync(path, "boom"))
    assert (response.ok, response.error) == (False, "internal_error")

    def failing() -> None:
        request_sync(path, "echo", text=1)

    with pytest.raises(RemoteError) as info:
        await anyio.to_thread.run_sync(failing)
    assert (info.value.code, info.value.field) == ("invalid_field", "text")


def test_request_sync_when_operations_is_down(tmp_path: Path) -> None:
    with pytest.raises(OperationsUnavailable, match="not running"):
        request_sync(tmp_path / "nothing.sock", "ping", timeout=2)


async def test_request_as_converts_to_a_typed_struct(server: IpcServer) -> None:
    import msgspec

    class Echo(msgspec.Struct):
        text: str

    async with OpsClient(server.socket_path) as client:
        assert await client.request_as("echo", Echo, text="hi") == Echo(text="hi")
