"""The control socket inside the real Operations service (in-process, real agents)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import OperationsUnavailable
from mimolo.ipc import OpsClient
from mimolo.ipc.server.api import control_socket_service
from mimolo.operations.service import Operations

pytestmark = pytest.mark.anyio

CONFIG = """\
# kept across restarts
[settings]
heartbeat_interval_s = 1.0
start_timeout_s = 20.0

[instances.desk]
template = "agent_template"
label = "Desk"  # my desk
"""


@asynccontextmanager
async def operations(root: DataRoot) -> AsyncIterator[Operations]:
    ops = Operations(root, extra_services=[control_socket_service], handle_signals=False)
    task = asyncio.create_task(ops.run())
    try:
        async with asyncio.timeout(30):
            await ops.wait_ready()
            while not root.socket_path.exists():
                await asyncio.sleep(0.05)
        yield ops
    finally:
        ops.request_shutdown()
        async with asyncio.timeout(60):
            await task


async def test_socket_mode_and_shutdown_over_ipc(data_root: DataRoot) -> None:
    data_root.config_path.write_text(CONFIG)
    ops = Operations(data_root, extra_services=[control_socket_service], handle_signals=False)
    task = asyncio.create_task(ops.run())
    try:
        async with asyncio.timeout(30):
            await ops.wait_ready()
            while not data_root.socket_path.exists():
                await asyncio.sleep(0.05)
        assert stat.S_IMODE(data_root.socket_path.stat().st_mode) == 0o600
        async with OpsClient(data_root.socket_path) as client:
            status = await client.request("get_status")
            assert status["pid"] == os.getpid()
            assert status["agents"]["total"] == 1
            assert await client.request("shutdown_operations") == {"shutting_down": True}
        async with asyncio.timeout(60):
            await task  # run() returns: every agent stopped, files closed
    finally:
        ops.request_shutdown()
        if not task.done():
            await task
    assert not data_root.socket_path.exists()
    with pytest.raises(OperationsUnavailable):
        async with OpsClient(data_root.socket_path, connect_attempts=1) as client:
            await client.request("ping")


async def test_config_edits_survive_an_operations_restart(data_root: DataRoot) -> None:
    data_root.config_path.write_text(CONFIG)
    async with operations(data_root), OpsClient(data_root.socket_path) as client:
        added = await client.request(
            "add_agent_instance",
            plugin_id="agent_template",
            instance_label="Laptop",
            params={"note": "hi"},
        )
        assert added["instance_id"] == "laptop"
        await client.request("update_agent_instance", instance_id="desk", instance_label="Desk 2")
    text = data_root.config_path.read_text()
    assert text.startswith("# kept across restarts")
    async with operations(data_root) as ops, OpsClient(data_root.socket_path) as client:
        instances = (await client.request("get_agent_instances"))["instances"]
        assert {i["instance_id"]: i["instance_label"] for i in instances} == {
            "desk": "Desk 2",
            "laptop": "Laptop",
        }
        assert ops.supervisor.state("laptop").state == "running"
    records = []
    for path in data_root.diagnostics_dir.glob("*.diagnostics.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    actions = {r.get("action") for r in records if r["kind"] == "audit"}
    assert {"add_agent_instance", "update_agent_instance"} <= actions


_NOBODY = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
data = b""
while chunk := s.recv(65536):
    data += chunk
sys.stdout.write(data.decode())
"""


async def test_refused_peer_leaves_an_audit_record(monkeypatch: pytest.MonkeyPatch) -> None:
    base = Path(tempfile.mkdtemp(prefix="mimolo-peer-", dir="/tmp"))
    try:
        root = DataRoot.resolve(base / "r").ensure()
        monkeypatch.setenv("MIMOLO_DATA_DIR", str(root.root))
        root.config_path.write_text(CONFIG)
        async with operations(root) as ops:
            # Reach the socket's inode through a hard link in an open directory, for this
            # test only: the refusal must come from SO_PEERCRED, not from file modes
            # (Operations keeps tightening its own directory).
            door = base / "door"
            door.mkdir()
            os.chmod(base, 0o711)
            os.chmod(door, 0o711)
            link = door / "ops.sock"
            os.link(root.socket_path, link)
            os.chmod(link, 0o666)
            python = shutil.which("python3", path="/usr/bin:/bin")
            assert python is not None
            proc = await asyncio.create_subprocess_exec(
                python,
                "-I",
                "-c",
                _NOBODY,
                str(link),
                user=65534,
                group=65534,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
            assert proc.returncode == 0, err.decode()
            assert json.loads(out)["error"] == "peer_refused"
            refused = [
                r
                for r in ops.diagnostics.tail(1000)
                if r["kind"] == "audit" and r.get("action") == "peer_refused"
            ]
            assert refused and refused[0]["uid"] == 65534
    finally:
        shutil.rmtree(base, ignore_errors=True)
