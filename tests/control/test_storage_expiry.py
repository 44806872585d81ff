"""An expired purge plan, end to end through Control's Storage routes and the real control
socket: the Operations side runs in this process (real supervisor, real registry) with an
``ArtifactService`` on a clock the test moves, since a running ``mimolo ops`` keeps plans
for 15 minutes. Control answers the next step: the plan expired, nothing was deleted, plan
again; the new plan goes through."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.control import Auth, OpsLink, create_app
from mimolo.dataroot import DataRoot
from mimolo.ipc.server.api import build_server
from mimolo.ipc.server.context import IpcContext
from mimolo.operations.artifacts.purge import DEFAULT_PLAN_TTL_S
from mimolo.operations.artifacts.service import ArtifactService
from mimolo.operations.config_store import ConfigStore
from operations.harness import FAST_SETTINGS, resolver, running

from ._live import short_data_root

BASE = "http://127.0.0.1:8000"
SETTINGS = "\n".join(f"{k} = {v!r}" for k, v in FAST_SETTINGS.items())
CONFIG = f"""\
[settings]
{SETTINGS}

[instances.example-a]
template = "agent_example"
label = "Example A"
enabled = false
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 10, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stack:
    root: DataRoot
    clock: Clock
    client: httpx.AsyncClient
    csrf: str

    def shot(self, day: int) -> Path:
        return self.root.instance_dir("agent_example", "example-a") / "artifacts" / f"s{day}.png"

    async def post(self, path: str, **fields: str) -> httpx.Response:
        return await self.client.post(
            path, data=fields, headers={"x-csrf-token": self.csrf, "origin": BASE}
        )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    with short_data_root() as root:
        root.config_path.write_text(CONFIG)
        os.chmod(root.config_path, 0o600)
        for day in (1, 2):
            path = root.instance_dir("agent_example", "example-a") / "artifacts" / f"s{day}.png"
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_bytes(b"x" * 100 * day)
            noon = datetime(2026, 3, day, 12, tzinfo=UTC).timestamp()
            os.utime(path, (noon, noon))
        store = ConfigStore(root.config_path, resolver)
        clock = Clock()
        async with running(root, store.load()) as harness:
            ctx = IpcContext(
                data_root=root,
                supervisor=harness.supervisor,
                store=store,
                diagnostics=harness.diagnostics,
                templates=builtin_templates,
                request_shutdown=asyncio.Event().set,
                artifacts=ArtifactService(root, clock=clock),
            )
            async with build_server(ctx):
                link = OpsLink(root.socket_path)
                auth = Auth()
                app = create_app(root, auth=auth, ops=link)
                assert await link.probe()
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                    signed = await client.get(f"/?token={auth.new_link_token()}")
                    assert signed.status_code == 303
                    page = (await client.get("/storage?instance=example-a")).text
                    marker = 'name="csrf-token" content="'
                    start = page.index(marker) + len(marker)
                    csrf = page[start : page.index('"', start)]
                    yield Stack(root, clock, client, csrf)
                await link._drop_client()


def plan_id_of(html: str) -> str:
    marker = 'name="plan_id" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.mark.anyio
async def test_an_expired_plan_deletes_nothing_and_is_planned_again(stack: Stack) -> None:
    planned = await stack.post(
        "/fragments/storage/purge/plan",
        instance_id="example-a",
        start="2026-03-01",
        end="2026-03-02",
    )
    assert planned.status_code == 200, planned.text
    assert "Plan: 2 files" in planned.text
    stack.clock.now += timedelta(seconds=DEFAULT_PLAN_TTL_S + 1)
    fields = {
        "instance_id": "example-a",
        "plan_id": plan_id_of(planned.text),
        "archive_choice": "decline_archive",
        "confirm": "yes",
        "start": "2026-03-01",
        "end": "2026-03-02",
    }
    expired = await stack.post("/fragments/storage/purge/execute", **fields)
    assert expired.status_code == 200 and expired.headers["content-type"].startswith("text/html")
    assert "This purge plan has expired" in expired.text
    assert "Nothing was deleted" in expired.text
    assert 'value="2026-03-01"' in expired.text and "Plan again" in expired.text
    assert stack.shot(1).exists() and stack.shot(2).exists()
    again = await stack.post(
        "/fragments/storage/purge/plan",
        instance_id="example-a",
        start="2026-03-01",
        end="2026-03-02",
    )
    done = await stack.post(
        "/fragments/storage/purge/execute", **{**fields, "plan_id": plan_id_of(again.text)}
    )
    assert "Purged 2 files" in done.text, done.text
    assert not stack.shot(1).exists() and not stack.shot(2).exists()


@pytest.mark.anyio
async def test_refusals_come_back_as_json_for_the_form(stack: Stack) -> None:
    bad = await stack.post("/fragments/storage/purge/plan", instance_id="example-a", start="soon")
    assert bad.status_code == 400
    assert bad.json() == {
        "ok": False,
        "error": "invalid_field",
        "message": "'soon' is not a day (YYYY-MM-DD)",
        "key": "start",
    }
    planned = await stack.post("/fragments/storage/purge/plan", instance_id="example-a")
    unconfirmed = await stack.post(
        "/fragments/storage/purge/execute",
        instance_id="example-a",
        plan_id=plan_id_of(planned.text),
        archive_choice="decline_archive",
    )
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["error"] == "purge_not_confirmed"
    unknown = await stack.post("/fragments/storage/archive", instance_id="nobody")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_instance"
    assert stack.shot(1).exists()
