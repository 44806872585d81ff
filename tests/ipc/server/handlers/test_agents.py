"""The agent command family over the real socket, a real Supervisor and real agents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc import OpsClient
from mimolo.ipc.server.api import build_server
from mimolo.ipc.server.context import IpcContext
from mimolo.operations.config_store import ConfigStore
from operations.harness import FAST_SETTINGS, Harness, ledger_records, resolver, running

pytestmark = pytest.mark.anyio

SETTINGS = "\n".join(f"{k} = {v!r}" for k, v in FAST_SETTINGS.items())
ORIGINAL = f"""\
# Hand-written header: Operations must keep this.
[settings]
{SETTINGS}

# the always-on example
[instances.example-a]
template = "agent_example"
label = "Example A"
enabled = true

[instances.example-a.params]
mode = "active"  # counts as work
"""


@dataclass
class Ops:
    harness: Harness
    client: OpsClient
    store: ConfigStore
    data_root: DataRoot
    shutdown: asyncio.Event

    async def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return await self.client.request(cmd, **fields)

    async def refused(self, cmd: str, **fields: Any) -> RemoteError:
        with pytest.raises(RemoteError) as info:
            await self.client.request(cmd, **fields)
        return info.value

    def audits(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.harness.diag("audit") if r.get("action") == action]


@pytest.fixture
async def ops(data_root: DataRoot) -> AsyncIterator[Ops]:
    data_root.config_path.write_text(ORIGINAL)
    store = ConfigStore(data_root.config_path, resolver)
    shutdown = asyncio.Event()
    async with running(data_root, store.load()) as harness:
        ctx = IpcContext(
            data_root=data_root,
            supervisor=harness.supervisor,
            store=store,
            diagnostics=harness.diagnostics,
            templates=builtin_templates,
            request_shutdown=shutdown.set,
        )
        async with build_server(ctx), OpsClient(data_root.socket_path) as client:
            await harness.until_state("example-a", "running")
            yield Ops(harness, client, store, data_root, shutdown)


async def test_runtime_commands(ops: Ops) -> None:
    assert (await ops.ask("ping"))["pong"] is True
    status = await ops.ask("get_status")
    assert status["agents"] == {"total": 1, "by_state": {"running": 1}}
    assert status["data_dir"] == str(ops.data_root.root)
    tail = await ops.ask("get_diagnostics_tail", limit=5)
    assert 0 < tail["count"] <= 5
    only = await ops.ask("get_diagnostics_tail", instance_id="example-a", kind="lifecycle")
    assert all(r["instance_id"] == "example-a" for r in only["records"])
    assert all(r["kind"] == "lifecycle" for r in only["records"])
    errors = await ops.ask("get_diagnostics_tail", level="error")
    assert all(r.get("level") == "error" or r["kind"] == "error" for r in errors["records"])
    bad = await ops.refused("get_diagnostics_tail", limit=0)
    assert (bad.code, bad.field) == ("invalid_field", "limit")
    bad = await ops.refused("get_diagnostics_tail", level="loud")
    assert (bad.code, bad.field) == ("invalid_field", "level")
    assert (await ops.ask("shutdown_operations")) == {"shutting_down": True}
    assert ops.shutdown.is_set()


async def test_templates_carry_parameter_declarations(ops: Ops) -> None:
    templates = {t["plugin_id"]: t for t in (await ops.ask("list_agent_templates"))["templates"]}
    example = templates["agent_example"]
    params = {p["name"]: p for p in example["params"]}
    assert params["mode"]["type"] == "choice"
    assert params["mode"]["choices"] == ["active", "passive"]
    assert params["activity_probability"]["maximum"] == 1.0
    assert "module" not in example  # what runs is not exposed, and never settable


async def test_instances_and_states(ops: Ops) -> None:
    instances = (await ops.ask("get_agent_instances"))["instances"]
    assert [i["instance_id"] for i in instances] == ["example-a"]
    assert instances[0]["params"]["mode"] == "active"
    agents = (await ops.ask("get_agent_states"))["agents"]
    assert agents[0]["instance_id"] == "example-a"
    assert agents[0]["state"] == "running"
    assert agents[0]["pid"] > 0


async def test_add_answers_the_real_id_persists_and_starts(ops: Ops) -> None:
    added = await ops.ask(
        "add_agent_instance",
        template="agent_example",
        label="Client Work: ACME!",
        params={"mode": "passive", "seed": "7"},
    )
    assert added["instance_id"] == "client-work-acme"
    assert added["config"]["params"]["seed"] == 7  # coerced to the declared type
    assert added["applied"] == "added"
    assert added["state"]["state"] == "running"
    again = await ops.ask(
        "add_agent_instance", template="agent_example", label="Client Work: ACME!"
    )
    assert again["instance_id"] == "client-work-acme-2"
    text = ops.store.path.read_text()
    assert "# Hand-written header: Operations must keep this." in text
    assert 'mode = "active"  # counts as work' in text
    assert "[instances.client-work-acme]" in text
    assert len(ops.audits("add_agent_instance")) == 2
    ids = [a["instance_id"] for a in (await ops.ask("get_agent_states"))["agents"]]
    assert ids == ["example-a", "client-work-acme", "client-work-acme-2"]


async def test_add_disabled_instance_is_not_started(ops: Ops) -> None:
    added = await ops.ask(
        "add_agent_instance",
        template="agent_example",
        label="Later",
        enabled=False,
        instance_id="later",
    )
    assert added["instance_id"] == "later"
    assert added["state"]["state"] == "stopped"
    taken = await ops.refused(
        "add_agent_instance", template="agent_example", label="X", instance_id="later"
    )
    assert (taken.code, taken.field) == ("invalid_id", "instance_id")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"template": "nope", "label": "X"}, "unknown_template", "template"),
        ({"label": "X"}, "invalid_field", "template"),
        (
            {"template": "agent_example", "label": "X", "params": {"activity_probability": 2}},
            "config_invalid",
            "params.activity_probability",
        ),
        (
            {"template": "agent_example", "label": "X", "params": {"mode": "sometimes"}},
            "config_invalid",
            "params.mode",
        ),
        (
            {"template": "agent_example", "label": "X", "params": {"bogus": 1}},
            "config_invalid",
            "params.bogus",
        ),
        ({"template": "agent_example", "label": ""}, "invalid_label", "label"),
        (
            {"template": "agent_example", "label": "X", "client_id": "A B"},
            "invalid_id",
            "client_id",
        ),
        (
            {"template": "agent_example", "label": "X", "flush_interval_s": 0},
            "config_invalid",
            "flush_interval_s",
        ),
        (
            {"template": "agent_example", "label": "X", "instance_id": "../../etc"},
            "invalid_id",
            "instance_id",
        ),
        # no command can set what runs
        (
            {"template": "agent_example", "label": "X", "command": ["sh"]},
            "invalid_field",
            "command",
        ),
        ({"template": "agent_example", "label": "X", "module": "os"}, "invalid_field", "module"),
        ({"template": "agent_example", "label": "X", "argv": ["x"]}, "invalid_field", "argv"),
    ],
)
async def test_add_refusals_name_the_key_and_change_nothing(
    ops: Ops, fields: dict[str, Any], code: str, field: str
) -> None:
    before = ops.store.path.read_bytes()
    error = await ops.refused("add_agent_instance", **fields)
    assert (error.code, error.field) == (code, field), error.message
    assert ops.store.path.read_bytes() == before
    assert len((await ops.ask("get_agent_states"))["agents"]) == 1


async def test_update_params_restarts_and_reports_it(ops: Ops) -> None:
    before_pid = ops.harness.supervisor.state("example-a").pid
    updated = await ops.ask(
        "update_agent_instance",
        instance_id="example-a",
        params={"activity_probability": 0.25},
        label="Example A (tuned)",
    )
    assert updated["changed"] == ["label", "params"]
    assert updated["restarted"] is True
    assert updated["restart_required"] is False
    assert updated["config"]["params"]["activity_probability"] == 0.25
    assert updated["config"]["label"] == "Example A (tuned)"
    state = await ops.harness.until_state("example-a", "running")
    assert state.pid != before_pid
    text = ops.store.path.read_text()
    assert "# the always-on example" in text
    assert "activity_probability = 0.25" in text
    assert "seed" not in text  # defaults stay implicit: only what the user set is written
    assert ops.audits("update_agent_instance")[-1]["changed"] == ["label", "params"]


async def test_update_without_apply_reports_restart_required(ops: Ops) -> None:
    updated = await ops.ask(
        "update_agent_instance", instance_id="example-a", params={"seed": 5}, restart=False
    )
    assert (updated["restart_required"], updated["restarted"]) == (True, False)


async def test_update_flush_interval_and_reset_to_default(ops: Ops) -> None:
    first = await ops.ask("update_agent_instance", instance_id="example-a", flush_interval_s=30)
    assert first["config"]["flush_interval_s"] == 30.0
    second = await ops.ask("update_agent_instance", instance_id="example-a", flush_interval_s=None)
    assert second["config"]["flush_interval_s"] is None
    assert "\nflush_interval_s" not in ops.store.path.read_text()
    same = await ops.ask("update_agent_instance", instance_id="example-a", label="Example A")
    assert same["changed"] == []


async def test_disable_stops_and_enable_starts(ops: Ops) -> None:
    off = await ops.ask("update_agent_instance", instance_id="example-a", enabled=False)
    assert off["state"]["state"] == "stopped"
    on = await ops.ask("update_agent_instance", instance_id="example-a", enabled=True)
    assert on["changed"] == ["enabled"]
    await ops.harness.until_state("example-a", "running")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"instance_id": "absent"}, "unknown_instance", None),
        ({"instance_id": "Bad Id"}, "invalid_id", "instance_id"),
        ({"instance_id": "example-a", "template": "x"}, "invalid_field", "template"),
        ({"instance_id": "example-a", "params": {"seed": -3}}, "config_invalid", "params.seed"),
        ({"instance_id": "example-a", "enabled": "yes"}, "invalid_field", "enabled"),
        ({"instance_id": "example-a", "label": "\x07"}, "invalid_label", "label"),
    ],
)
async def test_update_refusals(
    ops: Ops, fields: dict[str, Any], code: str, field: str | None
) -> None:
    before = ops.store.path.read_bytes()
    error = await ops.refused("update_agent_instance", **fields)
    assert (error.code, error.field) == (code, field), error.message
    assert ops.store.path.read_bytes() == before


async def test_duplicate_and_remove(ops: Ops) -> None:
    copy = await ops.ask("duplicate_agent_instance", instance_id="example-a")
    assert copy["instance_id"] == "example-a-copy"
    assert copy["config"]["label"] == "Example A (copy)"
    assert copy["config"]["params"]["mode"] == "active"
    named = await ops.ask("duplicate_agent_instance", instance_id="example-a", label="Mirror")
    assert named["instance_id"] == "mirror"
    assert (await ops.refused("duplicate_agent_instance", instance_id="nope")).code == (
        "unknown_instance"
    )
    await ops.harness.until_state("mirror", "running")
    removed = await ops.ask("remove_agent_instance", instance_id="mirror")
    assert removed == {"instance_id": "mirror", "removed": True, "applied": "removed"}
    ids = [a["instance_id"] for a in (await ops.ask("get_agent_states"))["agents"]]
    assert "mirror" not in ids
    assert "[instances.mirror]" not in ops.store.path.read_text()
    assert ops.audits("remove_agent_instance")[-1]["instance_id"] == "mirror"
    assert (await ops.refused("remove_agent_instance", instance_id="mirror")).code == (
        "unknown_instance"
    )


async def test_lifecycle_commands(ops: Ops) -> None:
    flushed = await ops.ask("flush_agent", instance_id="example-a")
    assert flushed["instance_id"] == "example-a"
    await ops.harness.until(lambda: ops.harness.supervisor.state("example-a").summaries >= 1)
    stopped = await ops.ask("stop_agent", instance_id="example-a")
    assert stopped["state"]["state"] == "stopped"
    assert (await ops.refused("flush_agent", instance_id="example-a")).code == "agent_not_running"
    started = await ops.ask("start_agent", instance_id="example-a")
    assert started["state"]["state"] == "running"
    first_pid = started["state"]["pid"]
    restarted = await ops.ask("restart_agent", instance_id="example-a")
    assert restarted["state"]["pid"] != first_pid
    assert (await ops.refused("start_agent", instance_id="ghost")).code == "unknown_instance"
    missing = await ops.refused("stop_agent")
    assert (missing.code, missing.field) == ("invalid_field", "instance_id")
    assert len(ledger_records(ops.data_root)) >= 1


async def test_monitors(ops: Ops) -> None:
    await ops.ask("add_agent_instance", template="agent_example", label="B")
    stopped = await ops.ask("stop_monitors")
    assert {a["state"] for a in stopped["agents"]} == {"stopped"}
    started = await ops.ask("start_monitors")
    assert {a["state"] for a in started["agents"]} == {"running"}
