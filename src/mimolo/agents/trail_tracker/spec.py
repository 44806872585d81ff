"""The ``trail_tracker`` template: parameters declared once, no heavy imports."""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "trail_tracker"
AGENT_VERSION = "1.0.0"

PARAMS: tuple[Param, ...] = (
    Param(
        name="trail_folder",
        type="path",
        required=True,
        help="Folder the CAD program writes its trail files to (e.g. PTC Creo's start-in dir).",
    ),
    Param(
        name="trail_glob",
        type="str",
        default="trail.txt*",
        max_length=200,
        help="Which files in the folder are trail files.",
    ),
    Param(
        name="min_ping_interval_s",
        type="float",
        default=30.0,
        minimum=1.0,
        maximum=3600.0,
        help="At most one activity ping per this many seconds.",
    ),
    Param(
        name="inactivity_threshold_s",
        type="float",
        default=300.0,
        minimum=5.0,
        maximum=86_400.0,
        help="Seconds without a trail write before the user counts as inactive.",
    ),
    Param(
        name="client_id",
        type="str",
        default="",
        max_length=64,
        help="Client to attribute the CAD work to (empty: none).",
    ),
    Param(
        name="screenshot",
        type="bool",
        default=False,
        help="Keep a low-resolution screenshot (by reference) with each activity ping.",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="CAD trail tracker",
    description=(
        "Counts a CAD user's interaction from the trail files the program writes "
        "(PTC Creo trail.txt.N). Records times and counts, never trail contents."
    ),
    version=AGENT_VERSION,
    module="mimolo.agents.trail_tracker",
    activity_mode="active",
    params=PARAMS,
)

__all__ = ["AGENT_VERSION", "PARAMS", "PLUGIN_ID", "TEMPLATE"]
