"""The built-in agent templates.

A template names what runs (``python -m <module>``) and declares the parameters an
instance may set. Nothing else about the command line is configurable: no IPC command can
set an executable or arguments. Each agent package has a light ``spec`` module (no heavy
imports) defining ``TEMPLATE``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Literal

import msgspec

from mimolo.sdk.params import Param

BUILTIN_AGENT_PACKAGES: tuple[str, ...] = (
    "agent_template",
    "agent_example",
    "client_folder_activity",
    "screen_tracker",
    "trail_tracker",
)


class AgentTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """What an instance is provisioned from."""

    plugin_id: str
    label: str
    description: str
    version: str
    module: str
    activity_mode: Literal["active", "passive"] = "passive"
    params: tuple[Param, ...] = ()
    builtin: bool = True
    verified: bool = True

    def argv(self) -> list[str]:
        """The only command a built-in template can start."""
        return [sys.executable, "-m", self.module]


def builtin_templates() -> dict[str, AgentTemplate]:
    """Every built-in template whose package is present, keyed by ``plugin_id``."""
    out: dict[str, AgentTemplate] = {}
    for name in BUILTIN_AGENT_PACKAGES:
        try:
            spec = importlib.import_module(f"mimolo.agents.{name}.spec")
        except ModuleNotFoundError as exc:
            if exc.name != f"mimolo.agents.{name}" and exc.name != f"mimolo.agents.{name}.spec":
                raise
            continue
        template: AgentTemplate = spec.TEMPLATE
        out[template.plugin_id] = template
    return out


__all__ = ["BUILTIN_AGENT_PACKAGES", "AgentTemplate", "builtin_templates"]
