"""The instances family: the pure provisioning checks, then templates, instances and
add / duplicate / update / remove over the real socket (old field names included)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimolo.agents.catalog import builtin_templates
from mimolo.errors import ConfigError
from mimolo.ipc.server.handlers.instances import (
    check_instance,
    checked_params,
    copy_label,
    new_instance_id,
    template_for,
)
from mimolo.protocol.config_schema import InstanceConfig
from mimolo.slugs import is_slug

from ._ops import Ops

EXAMPLE = builtin_templates()["agent_example"]


@given(st.text(max_size=200), st.sets(st.text(max_size=10), max_size=20))
def test_new_instance_id_is_always_a_fresh_slug(label: str, taken: set[str]) -> None:
    new = new_instance_id(label, taken)
    assert is_slug(new)
    assert new not in taken


def test_new_instance_id_counts_up_and_skips_existing_storage() -> None:
    assert new_instance_id("ACME work!", set()) == "acme-work"
    assert new_instance_id("ACME work!", {"acme-work"}) == "acme-work-2"
    assert new_instance_id("ACME", {"acme"}, exists=lambda i: i == "acme-2") == "acme-3"
    assert new_instance_id("¿¿¿", set(), fallback="agent-example") == "agent-example"
    assert len(new_instance_id("x" * 300, set())) <= 64


def test_copy_label() -> None:
    assert copy_label("Desk", set()) == "Desk (copy)"
    assert copy_label("Desk", {"Desk (copy)", "Desk (copy 2)"}) == "Desk (copy 3)"


def test_template_for_names_the_known_templates() -> None:
    with pytest.raises(ConfigError) as info:
        template_for(builtin_templates(), "nope")
    assert info.value.code == "unknown_template"
    assert info.value.field == "plugin_id"
    assert "agent_example" in info.value.message


def test_checked_params_coerces_and_keeps_only_what_was_given() -> None:
    assert checked_params(EXAMPLE, {"seed": "4", "activity_probability": "0.5"}) == {
        "seed": 4,
        "activity_probability": 0.5,
    }
    assert checked_params(EXAMPLE, {}) == {}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"instance_label": " "}, "instance_label"),
        ({"instance_label": "x" * 500}, "instance_label"),
        ({"client_id": "Not A Slug"}, "client_id"),
        ({"flush_interval_s": -1.0}, "flush_interval_s"),
        ({"heartbeat_interval_s": 0.0}, "heartbeat_interval_s"),
        ({"cpu_budget_percent": float("nan")}, "cpu_budget_percent"),
        ({"params": {"seed": -1}}, "params.seed"),
        ({"params": {"mode": 3}}, "params.mode"),
    ],
)
def test_check_instance_refusals_name_the_key(changes: dict[str, Any], key: str) -> None:
    base: dict[str, Any] = {"plugin_id": "agent_example", "instance_label": "Desk", **changes}
    with pytest.raises(ConfigError) as info:
        check_instance(InstanceConfig(**base), EXAMPLE)
    assert info.value.field == key


# ---- over the socket ------------------------------------------------------------------


@pytest.mark.anyio
async def test_templates_carry_parameter_declarations(ops: Ops) -> None:
    templates = {t["plugin_id"]: t for t in (await ops.ask("list_agent_templates"))["templates"]}
    example = templates["agent_example"]
    params = {p["name"]: p for p in example["params"]}
    assert params["mode"]["type"] == "choice"
    assert params["mode"]["choices"] == ["active", "passive"]
    assert params["activity_probability"]["maximum"] == 1.0
    assert "module" not in example  # what runs is not exposed, and never settable


@pytest.mark.anyio
async def test_instances_are_the_config_view(ops: Ops) -> None:
    instances = (await ops.ask("get_agent_instances"))["instances"]
    assert [i["instance_id"] for i in instances] == ["example-a"]
    assert instances[0]["params"]["mode"] == "active"
    assert instances[0]["plugin_id"] == "agent_example"


@pytest.mark.anyio
async def test_add_answers_the_real_id_persists_and_starts(ops: Ops) -> None:
    added = await ops.ask(
        "add_agent_instance",
        plugin_id="agent_example",
        instance_label="Client Work: ACME!",
        params={"mode": "passive", "seed": "7"},
    )
    assert added["instance_id"] == "client-work-acme"
    assert added["config"]["params"]["seed"] == 7  # coerced to the declared type
    assert added["applied"] == "added"
    assert added["state"]["state"] == "running"
    again = await ops.ask(
        "add_agent_instance", plugin_id="agent_example", instance_label="Client Work: ACME!"
    )
    assert again["instance_id"] == "client-work-acme-2"
    text = ops.store.path.read_text()
    assert "# Hand-written header: Operations must keep this." in text
    assert 'mode = "active"  # counts as work' in text
    assert "[instances.client-work-acme]" in text
    assert len(ops.audits("add_agent_instance")) == 2
    ids = [a["instance_id"] for a in (await ops.ask("get_agent_states"))["agents"]]
    assert ids == ["example-a", "client-work-acme", "client-work-acme-2"]


@pytest.mark.anyio
async def test_old_clients_field_names_still_work(ops: Ops) -> None:
    """``template`` / ``label`` (the names before ``plugin_id`` / ``instance_label``)."""
    added = await ops.ask(
        "add_agent_instance", template="agent_example", label="Old Client", enabled=False
    )
    assert added["instance_id"] == "old-client"
    assert added["config"]["plugin_id"] == "agent_example"
    assert added["config"]["instance_label"] == "Old Client"
    renamed = await ops.ask("update_agent_instance", instance_id="old-client", label="Renamed")
    assert renamed["changed"] == ["instance_label"]
    copy = await ops.ask("duplicate_agent_instance", instance_id="old-client", label="Twin")
    assert copy["config"]["instance_label"] == "Twin"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cmd", "fields", "field"),
    [
        (
            "add_agent_instance",
            {"plugin_id": "agent_example", "template": "agent_example", "instance_label": "X"},
            "template",
        ),
        (
            "add_agent_instance",
            {"plugin_id": "agent_example", "instance_label": "X", "label": "Y"},
            "label",
        ),
        (
            "update_agent_instance",
            {"instance_id": "example-a", "instance_label": "A", "label": "B"},
            "label",
        ),
    ],
)
async def test_both_spellings_of_a_field_are_an_invalid_field(
    ops: Ops, cmd: str, fields: dict[str, object], field: str
) -> None:
    before = ops.store.path.read_bytes()
    error = await ops.refused(cmd, **fields)
    assert (error.code, error.field) == ("invalid_field", field), error.message
    assert ops.store.path.read_bytes() == before


@pytest.mark.anyio
async def test_add_disabled_instance_is_not_started(ops: Ops) -> None:
    added = await ops.ask(
        "add_agent_instance",
        plugin_id="agent_example",
        instance_label="Later",
        enabled=False,
        instance_id="later",
    )
    assert added["instance_id"] == "later"
    assert added["state"]["state"] == "stopped"
    taken = await ops.refused(
        "add_agent_instance", plugin_id="agent_example", instance_label="X", instance_id="later"
    )
    assert (taken.code, taken.field) == ("invalid_id", "instance_id")


_EX: dict[str, Any] = {"plugin_id": "agent_example", "instance_label": "X"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"plugin_id": "nope", "instance_label": "X"}, "unknown_template", "plugin_id"),
        ({"instance_label": "X"}, "invalid_field", "plugin_id"),
        (
            {**_EX, "params": {"activity_probability": 2}},
            "config_invalid",
            "params.activity_probability",
        ),
        ({**_EX, "params": {"mode": "sometimes"}}, "config_invalid", "params.mode"),
        ({**_EX, "params": {"bogus": 1}}, "config_invalid", "params.bogus"),
        ({**_EX, "instance_label": ""}, "invalid_label", "instance_label"),
        ({**_EX, "client_id": "A B"}, "invalid_id", "client_id"),
        ({**_EX, "flush_interval_s": 0}, "config_invalid", "flush_interval_s"),
        ({**_EX, "instance_id": "../../etc"}, "invalid_id", "instance_id"),
        # no command can set what runs
        ({**_EX, "command": ["sh"]}, "invalid_field", "command"),
        ({**_EX, "module": "os"}, "invalid_field", "module"),
        ({**_EX, "argv": ["x"]}, "invalid_field", "argv"),
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


@pytest.mark.anyio
async def test_update_params_restarts_and_reports_it(ops: Ops) -> None:
    before_pid = ops.harness.supervisor.state("example-a").pid
    updated = await ops.ask(
        "update_agent_instance",
        instance_id="example-a",
        params={"activity_probability": 0.25},
        instance_label="Example A (tuned)",
    )
    assert updated["changed"] == ["instance_label", "params"]
    assert updated["restarted"] is True
    assert updated["restart_required"] is False
    assert updated["config"]["params"]["activity_probability"] == 0.25
    assert updated["config"]["instance_label"] == "Example A (tuned)"
    state = await ops.harness.until_state("example-a", "running")
    assert state.pid != before_pid
    text = ops.store.path.read_text()
    assert "# the always-on example" in text
    assert "activity_probability = 0.25" in text
    assert "seed" not in text  # defaults stay implicit: only what the user set is written
    assert ops.audits("update_agent_instance")[-1]["changed"] == ["instance_label", "params"]


@pytest.mark.anyio
async def test_update_without_apply_reports_restart_required(ops: Ops) -> None:
    updated = await ops.ask(
        "update_agent_instance", instance_id="example-a", params={"seed": 5}, restart=False
    )
    assert (updated["restart_required"], updated["restarted"]) == (True, False)


@pytest.mark.anyio
async def test_update_flush_interval_and_reset_to_default(ops: Ops) -> None:
    first = await ops.ask("update_agent_instance", instance_id="example-a", flush_interval_s=30)
    assert first["config"]["flush_interval_s"] == 30.0
    second = await ops.ask("update_agent_instance", instance_id="example-a", flush_interval_s=None)
    assert second["config"]["flush_interval_s"] is None
    assert "\nflush_interval_s" not in ops.store.path.read_text()
    same = await ops.ask(
        "update_agent_instance", instance_id="example-a", instance_label="Example A"
    )
    assert same["changed"] == []


@pytest.mark.anyio
async def test_disable_stops_and_enable_starts(ops: Ops) -> None:
    off = await ops.ask("update_agent_instance", instance_id="example-a", enabled=False)
    assert off["state"]["state"] == "stopped"
    on = await ops.ask("update_agent_instance", instance_id="example-a", enabled=True)
    assert on["changed"] == ["enabled"]
    await ops.harness.until_state("example-a", "running")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"instance_id": "absent"}, "unknown_instance", None),
        ({"instance_id": "Bad Id"}, "invalid_id", "instance_id"),
        ({"instance_id": "example-a", "plugin_id": "x"}, "invalid_field", "plugin_id"),
        ({"instance_id": "example-a", "template": "x"}, "invalid_field", "plugin_id"),
        ({"instance_id": "example-a", "params": {"seed": -3}}, "config_invalid", "params.seed"),
        ({"instance_id": "example-a", "enabled": "yes"}, "invalid_field", "enabled"),
        ({"instance_id": "example-a", "instance_label": "\x07"}, "invalid_label", "instance_label"),
    ],
)
async def test_update_refusals(
    ops: Ops, fields: dict[str, Any], code: str, field: str | None
) -> None:
    before = ops.store.path.read_bytes()
    error = await ops.refused("update_agent_instance", **fields)
    assert (error.code, error.field) == (code, field), error.message
    assert ops.store.path.read_bytes() == before


@pytest.mark.anyio
async def test_duplicate_and_remove(ops: Ops) -> None:
    copy = await ops.ask("duplicate_agent_instance", instance_id="example-a")
    assert copy["instance_id"] == "example-a-copy"
    assert copy["config"]["instance_label"] == "Example A (copy)"
    assert copy["config"]["params"]["mode"] == "active"
    named = await ops.ask(
        "duplicate_agent_instance", instance_id="example-a", instance_label="Mirror"
    )
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
