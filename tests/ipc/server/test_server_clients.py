"""Many clients at once, a client that never reads, and a peer of another uid."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mimolo.ipc.server.socket_server import IpcServer

from .._support import RawClient, make_registry

pytestmark = pytest.mark.anyio


async def test_twenty_concurrent_clients(server: IpcServer) -> None:
    async def one(n: int) -> list[str]:
        client = await RawClient.open(server.socket_path)
        try:
            texts = []
            for i in range(10):
                answer = await client.ask({"cmd": "echo", "text": f"{n}-{i}", "request_id": i})
                assert answer["request_id"] == i
                texts.append(answer["data"]["text"])
            return texts
        finally:
            await client.close()

    results = await asyncio.gather(*(one(n) for n in range(20)))
    assert results == [[f"{n}-{i}" for i in range(10)] for n in range(20)]


async def test_a_client_that_never_reads_does_not_delay_others(server: IpcServer) -> None:
    hog = await RawClient.open(server.socket_path)
    request = b'{"cmd":"blob","size":60000}\n'
    dropped = asyncio.Event()

    async def flood() -> None:
        try:
            while True:
                hog.writer.write(request * 20)
                await asyncio.wait_for(hog.writer.drain(), timeout=30)
        except (ConnectionError, OSError):
            dropped.set()

    flooder = asyncio.create_task(flood())
    try:
        await asyncio.sleep(0.5)  # let the hog's unread answers pile up
        other = await RawClient.open(server.socket_path)
        try:
            worst = 0.0
            for i in range(10):
                started = time.monotonic()
                answer = await other.ask({"cmd": "ping", "request_id": i})
                worst = max(worst, time.monotonic() - started)
                assert answer["ok"] is True
                await asyncio.sleep(0.1)
            assert worst < 5.0, f"a ping took {worst:.2f} s while another client hogged"
        finally:
            await other.close()
        # The hog is dropped once its bounded write buffer stays full past the deadline.
        await asyncio.wait_for(dropped.wait(), timeout=30)
    finally:
        flooder.cancel()
        await asyncio.gather(flooder, return_exceptions=True)
        hog.writer.transport.abort()
    assert len(server._connections) <= 1


async def test_client_disconnect_mid_request_is_harmless(server: IpcServer) -> None:
    client = await RawClient.open(server.socket_path)
    await client.send(b'{"cmd":"sleep","seconds":0.5}\n{"cmd":"ping"')
    await client.close()
    await asyncio.sleep(1.0)
    again = await RawClient.open(server.socket_path)
    assert (await again.ask({"cmd": "ping"}))["ok"] is True
    await again.close()


_NOBODY_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(b'{"cmd": "ping", "request_id": "intruder"}\\n')
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"""


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A short, world-traversable temp dir (only for the peer test)."""
    path = Path(tempfile.mkdtemp(prefix="mimolo-peer-", dir="/tmp"))
    try:
        os.chmod(path, 0o711)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_peer_of_another_uid_is_refused(open_dir: Path) -> None:
    refused: list[dict[str, Any]] = []
    path = open_dir / "ops" / "ops.sock"
    async with IpcServer(path, make_registry(), on_peer_refused=refused.append):
        # Loosen the file permissions for this test only, so the refusal we see comes
        # from the peer-credential check, not from the filesystem.
        os.chmod(path.parent, 0o711)
        os.chmod(path, 0o666)
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        proc = await asyncio.create_subprocess_exec(
            python,
            "-I",
            "-c",
            _NOBODY_CLIENT,
            str(path),
            user=65534,
            group=65534,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, err.decode()
        lines = [json.loads(line) for line in out.decode().splitlines()]
        assert len(lines) == 1
        assert lines[0]["ok"] is False
        assert lines[0]["error"] == "peer_refused"
        assert lines[0]["request_id"] is None  # the request was never read
        assert refused and refused[0]["uid"] == 65534 and refused[0]["pid"] > 0
        # Our own uid still gets in.
        own = await RawClient.open(path)
        assert (await own.ask({"cmd": "ping"}))["ok"] is True
        await own.close()
