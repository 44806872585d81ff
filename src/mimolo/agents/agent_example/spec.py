"""The agent_example template and its parameters (light: no agent code imported)."""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "agent_example"
VERSION = "0.1.0"

PARAMS: tuple[Param, ...] = (
    Param(
        name="mode",
        type="choice",
        default="active",
        choices=("active", "passive"),
        help="Whether the synthetic activity counts as work (active) or context (passive).",
    ),
    Param(
        name="activity_probability",
        type="float",
        default=0.7,
        minimum=0.0,
        maximum=1.0,
        help="Chance that any one sample sees activity.",
    ),
    Param(
        name="client_id",
        type="str",
        default="",
        max_length=64,
        help="Client to attribute the activity to (empty: none).",
    ),
    Param(
        name="seed",
        type="int",
        default=0,
        minimum=0,
        help="Random seed for reproducible demos (0: different every run).",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="Example agent",
    description="Emits synthetic activity once a second; a demo and a reference agent.",
    version=VERSION,
    module="mimolo.agents.agent_example",
    activity_mode="active",
    params=PARAMS,
)
