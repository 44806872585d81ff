"""``mimolo status``, ``instances list`` and ``agents`` when the live answer is hard to get.

Held idle connections, an agent with huge metrics, a server whose every slot is busy, an
answer too large, a failing handler: the commands print normally, fall back to the
snapshot saying why, or print one clear line — never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ipc._support import RawClient
from ipc.server._ops_fakes import (
    BrokenSupervisor,
    GatedSupervisor,
    huge_state,
    serving,
    short_root,
    write_instances,
)
from mimolo.cli import cli
from mimolo.dataroot import DataRoot
from mimolo.ipc.server.registry import Command, CommandRegistry, NoParams
from mimolo.ipc.server.socket_server import IpcServer
from mimolo.operations.agent_state import AgentState
from mimolo.operations.lock import OpsLock
from mimolo.operations.snapshot import OpsSnapshot, write_snapshot

pytestmark = pytest.mark.anyio

SNAPSHOT_AT = datetime(2026, 3, 4, 9, 30, 15, tzinfo=UTC)


def snapshot_state(instance_id: str) -> AgentState:
    return AgentState(
        instance_id=instance_id,
        plugin_id="agent_example",
        instance_label=instance_id,
        enabled=True,
        state="running",
        health="healthy",
        pid=4321,
    )


@dataclass
class Running:
    """A data root whose Operations 'runs' (this process holds the lock) with a snapshot."""

    root: DataRoot

    async def cli(self, *args: str) -> Result:
        """Run ``mimolo ARGS --data-dir ROOT`` in a thread (the server runs on this loop)."""
        runner = CliRunner(env={"COLUMNS": "200"})
        argv = [*args, "--data-dir", str(self.root.root)]
        result = await asyncio.to_thread(runner.invoke, cli, argv)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result


@pytest.fixture
def running() -> Iterator[Running]:
    with short_root() as root, OpsLock(root.lock_path):
        write_snapshot(
            root,
            OpsSnapshot(
                pid=os.getpid(),
                state="running",
                started_at=SNAPSHOT_AT,
                written_at=SNAPSHOT_AT,
                data_root=str(root.root),
                instances=[snapshot_state("from-snapshot")],
            ),
        )
        write_instances(root, 3)
        yield Running(root)


async def test_status_and_instances_print_normally_with_huge_metrics_and_idle_crowds(
    running: Running,
) -> None:
    states = [huge_state(f"ex-{n:03d}", metrics_bytes=256 * 1024) for n in range(3)]
    extra = {"containment": "subreaper"}
    async with serving(running.root, states, extra=extra) as server:
        crowd = [await RawClient.open(server.socket_path) for _ in range(300)]
        await asyncio.sleep(1.5)  # held idle, past the eviction grace
        try:
            status = await running.cli("status")
            listed = await running.cli("instances", "list")
            as_json = json.loads((await running.cli("status", "--json")).stdout)
        finally:
            for client in crowd:
                client.writer.transport.abort()
    assert status.exit_code == 0, status.output
    assert "Operations is running" in status.stdout
    assert "containment subreaper" in status.stdout
    assert "diagnostics dropped 0" in status.stdout
    assert "unavailable" not in status.stdout
    assert "ex-002" in status.stdout and "from-snapshot" not in status.stdout
    assert listed.exit_code == 0, listed.output
    assert all(f"ex-{n:03d}" in listed.stdout for n in range(3))
    assert "running" in listed.stdout
    assert as_json["source"] == "live" and as_json["live_error"] is None
    assert as_json["containment"] == "subreaper"


@pytest.fixture
async def all_busy(running: Running) -> AsyncIterator[Running]:
    """Every connection slot waits for an answer that does not come until the test ends."""
    gate = asyncio.Event()
    supervisor = GatedSupervisor([huge_state("ex-000", metrics_bytes=1)], gate)
    async with serving(running.root, [], supervisor=supervisor, max_connections=1) as server:
        holder = await RawClient.open(server.socket_path)
        await holder.send(b'{"cmd":"get_status","request_id":"hold"}\n')
        await asyncio.sleep(0.2)
        try:
            yield running
        finally:
            gate.set()
            await holder.close()


async def test_status_falls_back_to_the_snapshot_when_busy(all_busy: Running) -> None:
    result = await all_busy.cli("status")
    assert result.exit_code == 0, result.output
    assert "Operations is running" in result.stdout
    assert "live answer unavailable (busy:" in result.stdout
    assert "showing the snapshot of 2026-03-04 09:30:15 UTC" in result.stdout
    assert "from-snapshot" in result.stdout
    assert "containment unknown" in result.stdout
    data = json.loads((await all_busy.cli("status", "--json")).stdout)
    assert data["source"] == "snapshot" and data["live_error"].startswith("busy:")


async def test_commands_that_need_operations_say_busy_in_one_line(all_busy: Running) -> None:
    for args in (("instances", "list"), ("agents", "restart", "--all"), ("agents", "stop", "x")):
        result = await all_busy.cli(*args)
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error busy:"), result.stderr
        assert "Traceback" not in result.output


async def test_instances_list_shows_snapshot_states_when_live_states_fail(
    running: Running,
) -> None:
    async with serving(running.root, [], supervisor=BrokenSupervisor([])):
        result = await running.cli("instances", "list")
        status = await running.cli("status")
    assert result.exit_code == 0, result.output
    assert "ex-000" in result.stdout and "ex-002" in result.stdout
    assert "live states unavailable (internal_error:" in result.stderr
    assert "showing the snapshot of 09:30:15" in result.stderr
    assert status.exit_code == 0 and "live answer unavailable (internal_error:" in status.stdout


async def test_status_falls_back_when_the_answer_is_too_large(running: Running) -> None:
    async def get_status(_: object, __: NoParams) -> dict[str, Any]:
        return {"blob": "x" * (2 * 1024 * 1024)}

    registry = CommandRegistry(None, [Command("get_status", NoParams, get_status)])
    async with IpcServer(running.root.socket_path, registry):
        result = await running.cli("status")
    assert result.exit_code == 0, result.output
    assert "live answer unavailable (response_too_large:" in result.stdout
    assert "from-snapshot" in result.stdout


async def test_status_when_the_socket_refuses_connections(running: Running) -> None:
    import socket

    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(running.root.socket_path))  # bound, never listening: refused
    try:
        result = await running.cli("status")
        listed = await running.cli("instances", "list")
    finally:
        stale.close()
    assert result.exit_code == 0, result.output
    assert "live answer unavailable (Operations does not accept connections" in result.stdout
    assert listed.exit_code == 2 and len(listed.stderr.strip().splitlines()) == 1
