"""Artifact commands on the real registry and socket, with the plans on an injected clock."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc import OpsClient
from mimolo.ipc.server.api import build_server
from mimolo.ipc.server.context import IpcContext
from mimolo.operations.artifacts.archive import ArchiveResult
from mimolo.operations.artifacts.service import ArtifactService, Window
from mimolo.operations.config_store import ConfigStore
from operations.harness import resolver, running

from ._ops import ORIGINAL

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class GatedService(ArtifactService):
    """The real service; an archive waits for the test's go (to see the loop stay free)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def archive(self, *args: Any, **kwargs: Any) -> ArchiveResult:
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return super().archive(*args, **kwargs)


@dataclass
class Served:
    client: OpsClient
    clock: Clock
    service: GatedService
    artifacts: Path

    async def refused(self, cmd: str, **fields: Any) -> RemoteError:
        with pytest.raises(RemoteError) as info:
            await self.client.request(cmd, **fields)
        return info.value


@pytest.fixture
async def served(data_root: DataRoot) -> AsyncIterator[Served]:
    data_root.config_path.write_text(ORIGINAL)
    store = ConfigStore(data_root.config_path, resolver)
    clock = Clock()
    service = GatedService(data_root, clock=clock)
    artifacts = data_root.instance_dir("agent_example", "example-a") / "artifacts"
    for n in range(6):
        path = artifacts / "2026" / f"f{n}.png"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(os.urandom(2000 + n))
    async with running(data_root, store.load()) as harness:
        ctx = IpcContext(
            data_root=data_root,
            supervisor=harness.supervisor,
            store=store,
            diagnostics=harness.diagnostics,
            templates=builtin_templates,
            request_shutdown=lambda: None,
            artifacts=service,
        )
        async with build_server(ctx), OpsClient(data_root.socket_path) as client:
            yield Served(client, clock, service, artifacts)


async def test_an_expired_plan_then_a_used_one_are_refused(served: Served) -> None:
    plan = await served.client.request("plan_instance_purge", instance_id="example-a")
    assert plan["expires_at"] == "2026-11-25T18:15:00Z" and plan["files"] == 6
    served.clock.now = NOW + timedelta(minutes=15)
    decision = {"action": "decline_archive"}
    args = {"plan_id": plan["plan_id"], "confirm": True, "archive_decision": decision}
    assert (await served.refused("execute_instance_purge", **args)).code == "purge_plan_expired"
    assert (await served.refused("execute_instance_purge", **args)).code == "purge_plan_unknown"
    assert len(list(served.artifacts.rglob("*.png"))) == 6

    fresh = await served.client.request("plan_instance_purge", instance_id="example-a")
    args["plan_id"] = fresh["plan_id"]
    done = await served.client.request("execute_instance_purge", **args)
    assert (done["deleted_files"], done["archive_id"]) == (6, None)
    assert (await served.refused("execute_instance_purge", **args)).code == "purge_plan_unknown"


async def test_refusals_keep_the_plan_usable(served: Served) -> None:
    plan = await served.client.request("plan_instance_purge", instance_id="example-a")
    plan_id = plan["plan_id"]
    no_confirm = await served.refused(
        "execute_instance_purge", plan_id=plan_id, archive_decision={"action": "create_archive"}
    )
    assert no_confirm.code == "purge_not_confirmed"
    no_decision = await served.refused("execute_instance_purge", plan_id=plan_id, confirm=True)
    assert no_decision.code == "archive_decision_required"
    no_id = await served.refused(
        "execute_instance_purge",
        plan_id=plan_id,
        confirm=True,
        archive_decision={"action": "use_existing_archive"},
    )
    assert (no_id.code, no_id.field) == ("invalid_field", "archive_decision.archive_id")
    assert len(list(served.artifacts.rglob("*.png"))) == 6
    done = await served.client.request(
        "execute_instance_purge",
        plan_id=plan_id,
        confirm=True,
        archive_decision={"action": "create_archive"},
    )
    assert done["deleted_files"] == 6 and done["archive_id"].startswith("20261125_")
    listed = await served.client.request("list_instance_archives", instance_id="example-a")
    assert [a["archive_id"] for a in listed["archives"]] == [done["archive_id"]]


async def test_a_long_archive_leaves_the_socket_answering(served: Served) -> None:
    served.service.gate.clear()
    archive = asyncio.create_task(
        served.client.request("archive_instance_artifacts", instance_id="example-a")
    )
    await asyncio.to_thread(served.service.entered.wait, 60)
    # the archive is running (held at the gate in its worker thread): others still answer
    assert (await served.client.request("ping"))["pong"] is True
    inventory = await served.client.request("get_artifact_inventory", instance_id="example-a")
    assert inventory["total_files"] == 6
    assert not archive.done()
    served.service.gate.set()
    made = await asyncio.wait_for(archive, 60)
    assert made["verified"] is True and made["archive"]["entries"] == 6


async def test_a_range_is_validated(served: Served) -> None:
    bad = await served.refused(
        "plan_instance_purge", instance_id="example-a", start="2026-11-02", end="2026-11-01"
    )
    assert (bad.code, bad.field) == ("invalid_field", "end")
    unknown = await served.refused("plan_instance_purge", instance_id="ghost")
    assert unknown.code == "unknown_instance"
    assert Window().contains(0)
