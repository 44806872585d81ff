"""Agent templates: what an instance is provisioned from (DESIGN §7).

A template names what runs and declares the parameters an instance may set. Nothing else
about the command line is configurable: no IPC command can set an executable or
arguments. Built-in agents' templates are listed in ``mimolo.agents.catalog``.
"""

from __future__ import annotations

import sys
from typing import Literal

import msgspec

from mimolo.protocol.params import Param


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


__all__ = ["AgentTemplate"]
