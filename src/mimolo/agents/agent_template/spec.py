"""The template's declaration: what it is and which parameters an instance may set.

Keep this module light (no heavy imports): listing templates imports every spec.
"""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "agent_template"  # a slug; also the package name under mimolo.agents
VERSION = "0.1.0"  # semver of the agent itself

# Declared once: these drive config validation, the CLI and Control's form. The agent
# receives the validated values as ``self.config`` (from MIMOLO_AGENT_CONFIG).
PARAMS: tuple[Param, ...] = (
    Param(
        name="note",
        type="str",
        default="",
        max_length=200,
        help="Free text copied into every summary (shows that parameters arrive).",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="Agent template",
    description="A minimal passive agent that counts its own samples; copy it to start.",
    version=VERSION,
    module="mimolo.agents.agent_template",
    activity_mode="passive",
    params=PARAMS,
)
