"""The ``mimolo`` command (also ``python -m mimolo``).

Command groups live one per module and are registered in ``_COMMANDS``; each is imported
only when used, so ``mimolo --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from mimolo import __version__

# name -> "module:attribute" of a click command or group.
_COMMANDS: dict[str, str] = {
    "templates": "mimolo.cli.templates:templates",
    "instances": "mimolo.cli.instances:instances",
    "agents": "mimolo.cli.agents_cmd:agents",
    "control": "mimolo.cli.control:control",
    "up": "mimolo.cli.control:up",
    "agent": "mimolo.cli.agent:agent",
    "ops": "mimolo.cli.ops:ops",
    "status": "mimolo.cli.ops:status",
    "timeline": "mimolo.cli.timeline:timeline",
    "demo-data": "mimolo.cli.demo:demo_data",
    "report": "mimolo.cli.report:report",
    "evidence": "mimolo.cli.evidence:evidence",
    "pause": "mimolo.cli.capture:pause",
    "resume": "mimolo.cli.capture:resume",
    "package": "mimolo.cli.package:package",
    "packages": "mimolo.cli.packages:packages",
    "keys": "mimolo.cli.keys:keys",
    "trust": "mimolo.cli.trust:trust",
    "backup": "mimolo.cli.backup:backup",
    "restore": "mimolo.cli.backup:restore",
    "sync": "mimolo.cli.sync:sync",
    "team": "mimolo.cli.team:team",
    "rules": "mimolo.cli.rules:rules",
    "adjust": "mimolo.cli.adjust:adjust",
    "invoices": "mimolo.cli.invoices:invoices",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attr = target.split(":")
        command: Any = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mimolo")
def cli() -> None:
    """MiMoLo: a local, privacy-first activity monitor and work logger."""


def main() -> None:
    cli(prog_name="mimolo")


__all__ = ["cli", "main"]
