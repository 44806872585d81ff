"""The docs cover every configuration key and every CLI command (after Datasette's
``tests/test_docs.py``). IPC commands and error codes are checked in
``tests/ipc/test_ipc_docs.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import msgspec
import pytest

from mimolo.cli import cli
from mimolo.protocol.config_schema import InstanceConfig, Settings

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
ALL_DOCS = "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)


def section(text: str, heading: str) -> str:
    """The Markdown section under ``heading`` (a whole heading line), up to the next
    heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading)
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if re.match(rf"#{{1,{level}}} ", lines[i]) is not None
        ),
        len(lines),
    )
    return "\n".join(lines[start + 1 : end])


SETTINGS_SECTION = section(OPERATIONS, "### `[settings]`")
INSTANCE_SECTION = section(OPERATIONS, "### `[instances.<instance_id>]`")


def keys(struct: type[msgspec.Struct]) -> list[str]:
    return [field.name for field in msgspec.structs.fields(struct)]


def command_names(command: click.Command, name: str) -> Iterator[str]:
    """Full names of ``command`` and everything below it (``mimolo instances add`` …).

    ``mimolo`` loads its groups lazily, so ``Group.commands`` of the root is empty; asking
    ``list_commands`` / ``get_command`` walks what a user can actually type.
    """
    yield name
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=name.rsplit(" ", 1)[-1])
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            assert sub is not None, f"{name} lists {sub_name!r} but cannot load it"
            yield from command_names(sub, f"{name} {sub_name}")


COMMANDS = [name for name in command_names(cli, "mimolo") if name != "mimolo"]


def test_walk_finds_nested_commands() -> None:
    """Guard against a walk that silently finds nothing (lazy groups, renames)."""
    assert {"mimolo ops", "mimolo status", "mimolo instances add", "mimolo report csv"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("key", keys(Settings))
def test_settings_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in SETTINGS_SECTION, f"add a row for `{key}` to the [settings] table"


@pytest.mark.parametrize("key", keys(InstanceConfig))
def test_instance_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in INSTANCE_SECTION, f"add a row for `{key}` to the instance table"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented(name: str) -> None:
    # `mimolo agent` must not be satisfied by `mimolo agents …`, nor `mimolo report`
    # by `mimolo report-…`: the name must end at a word boundary.
    pattern = re.escape(name) + r"(?![\w-])"
    assert re.search(pattern, ALL_DOCS) is not None, f"document `{name}` in docs/ or README.md"
