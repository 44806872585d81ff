"""``mimolo templates``: the agent templates an instance can be made from, with parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table

from mimolo.agents.catalog import builtin_templates
from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json, socket_path
from mimolo.errors import OperationsUnavailable
from mimolo.ipc.client import request_sync


def _local_templates() -> list[dict[str, Any]]:
    """Built-in templates read in-process (when Operations is not running)."""
    out = []
    for _, template in sorted(builtin_templates().items()):
        view: dict[str, Any] = msgspec.to_builtins(template)
        view.pop("module", None)
        out.append(view)
    return out


def _param_text(param: dict[str, Any]) -> str:
    return f"{param['name']}:{param['type']}"


@click.command("templates")
@click.argument("plugin_id", required=False)
@json_option
@data_dir_option
def templates(plugin_id: str | None, as_json: bool, data_dir: Path | None) -> None:
    """List agent templates (or show one template's parameters)."""
    try:
        items = request_sync(socket_path(data_dir), "list_agent_templates", timeout=10)["templates"]
    except OperationsUnavailable:
        items = _local_templates()  # built-ins need no Operations to be listed
    if plugin_id is not None:
        items = [t for t in items if t["plugin_id"] == plugin_id]
        if not items:
            call(data_dir, "list_agent_templates")  # reports "not running" clearly if so
            raise click.ClickException(f"no template {plugin_id!r}")
    if as_json:
        print_json({"templates": items})
        return
    console = Console(highlight=False)
    if plugin_id is not None:
        template = items[0]
        console.print(
            f"[bold]{template['plugin_id']}[/bold] {template['version']}: {template['description']}"
        )
        table = Table("parameter", "type", "default", "help")
        table.columns[0].no_wrap = True
        for param in template["params"]:
            kind = param["type"]
            if param.get("choices"):
                kind += f" ({', '.join(param['choices'])})"
            table.add_row(param["name"], kind, repr(param.get("default")), param.get("help", ""))
        console.print(table)
        return
    table = Table("template", "label", "version", "mode", "verified", "parameters")
    table.columns[0].no_wrap = True
    for template in items:
        table.add_row(
            template["plugin_id"],
            template["label"],
            template["version"],
            template.get("activity_mode", ""),
            "yes" if template.get("verified") else "[yellow]UNVERIFIED[/yellow]",
            ", ".join(_param_text(p) for p in template["params"]) or "-",
        )
    console.print(table)
