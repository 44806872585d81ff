"""docs/ipc.md documents every command the socket serves, every error code and CLI verb."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import click
import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.cli.agents_cmd import agents
from mimolo.cli.instances import instances
from mimolo.dataroot import DataRoot
from mimolo.ipc.server.api import build_registry
from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.types import ERROR_CODES
from mimolo.operations.config_store import ConfigStore

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ipc.md").read_text(encoding="utf-8")


class _Nothing:
    """Stands in for parts that registering commands does not use (no attributes)."""


def _registered_commands(tmp_path: Path) -> list[str]:
    root = DataRoot.resolve(tmp_path)

    async def build() -> list[str]:
        ctx = IpcContext(
            data_root=root,
            supervisor=cast(Any, _Nothing()),
            store=ConfigStore(root.config_path),
            diagnostics=cast(Any, _Nothing()),
            templates=builtin_templates,
            request_shutdown=lambda: None,
        )
        return build_registry(ctx).names()

    return asyncio.run(build())


def test_every_registered_command_is_documented(tmp_path: Path) -> None:
    names = _registered_commands(tmp_path)
    assert "add_agent_instance" in names
    missing = [n for n in [*names, "hello"] if f"`{n}`" not in DOC]
    assert missing == []


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in DOC


@pytest.mark.parametrize(
    ("group", "prefix"), [(instances, "mimolo instances"), (agents, "mimolo agents")]
)
def test_every_cli_verb_is_documented(group: click.Group, prefix: str) -> None:
    for verb in group.commands:
        assert f"{prefix} {verb}" in DOC, verb
    assert "mimolo templates" in DOC
    assert "mimolo ops stop" in DOC
