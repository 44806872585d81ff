"""The built-in agent templates (``mimolo.protocol.templates.AgentTemplate``).

Each agent package has a light ``spec`` module (no heavy imports) defining ``TEMPLATE``;
built-ins run as ``python -m <module>``.
"""

from __future__ import annotations

import importlib

from mimolo.protocol.templates import AgentTemplate

BUILTIN_AGENT_PACKAGES: tuple[str, ...] = (
    "agent_template",
    "agent_example",
    "client_folder_activity",
    "screen_tracker",
    "trail_tracker",
    "desktop_activity",
)


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
