"""Fixtures for control-socket tests: a served registry of test commands and a raw client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mimolo.ipc.server.socket_server import IpcServer

from ._support import RawClient, make_registry


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "ops" / "ops.sock"


@pytest.fixture
async def server(socket_path: Path) -> AsyncIterator[IpcServer]:
    async with IpcServer(socket_path, make_registry(), drain_timeout_s=2.0) as srv:
        yield srv


@pytest.fixture
async def raw(server: IpcServer) -> AsyncIterator[RawClient]:
    client = await RawClient.open(server.socket_path)
    try:
        yield client
    finally:
        await client.close()
