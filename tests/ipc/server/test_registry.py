"""The command table: one handler per name, aliases, legacy field names mapped once."""

from __future__ import annotations

from typing import Any

import pytest

from mimolo.errors import InvalidField
from mimolo.ipc.server.handlers import COMMANDS
from mimolo.ipc.server.registry import Command, CommandRegistry, NoParams, current_fields

from .._support import RawClient


async def _hi(ctx: list[str], _: NoParams) -> dict[str, Any]:
    ctx.append("called")
    return {"hi": True}


@pytest.mark.anyio
async def test_an_alias_is_the_same_command_and_handlers_get_the_context() -> None:
    calls: list[str] = []
    registry = CommandRegistry(calls, [Command("greet", NoParams, _hi, aliases=("hello_old",))])
    assert registry.get("hello_old") is registry.get("greet")
    assert registry.names() == ["greet", "hello_old"]
    assert registry.aliases() == {"hello_old": "greet"}
    command = registry.get("hello_old")
    assert command is not None
    assert await registry.call(command, NoParams()) == {"hi": True}
    assert calls == ["called"]


def test_a_name_is_registered_once_aliases_included() -> None:
    registry = CommandRegistry([], [Command("a", NoParams, _hi, aliases=("b",))])
    with pytest.raises(ValueError, match="'b' registered twice"):
        registry.add(Command("b", NoParams, _hi))


def test_the_table_has_one_handler_per_command_and_the_old_verbs_as_aliases() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    aliases = {a: c.name for c in COMMANDS for a in c.aliases}
    assert aliases == {"start_monitors": "start_all_agents", "stop_monitors": "stop_all_agents"}
    lifecycle = {"start_agent", "stop_agent", "restart_agent", "flush_agent"}
    assert {c.name for c in COMMANDS if c.mutating} >= lifecycle | set(aliases.values())


def test_legacy_field_names_are_mapped_and_both_spellings_refused() -> None:
    assert current_fields({"instance_id": "a"}) == {"instance_id": "a"}
    assert current_fields({"template": "t", "label": "L"}) == {
        "plugin_id": "t",
        "instance_label": "L",
    }
    with pytest.raises(InvalidField) as info:
        current_fields({"plugin_id": "t", "template": "t"})
    assert info.value.code == "invalid_field"
    assert "template" in str(info.value)


@pytest.mark.anyio
async def test_both_spellings_answer_invalid_field_naming_the_old_one(raw: RawClient) -> None:
    answer = await raw.ask({"cmd": "echo", "text": "x", "label": "a", "instance_label": "b"})
    assert (answer["ok"], answer["error"], answer["field"]) == (False, "invalid_field", "label")
    assert (await raw.ask({"cmd": "ping"}))["ok"] is True  # the connection lives on
