"""The ``desktop_activity`` template: parameters declared once, no heavy imports."""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "desktop_activity"
AGENT_VERSION = "1.0.0"

BACKEND_CHOICES: tuple[str, ...] = ("auto", "x11", "dbus", "none")

PARAMS: tuple[Param, ...] = (
    Param(
        name="sample_interval_s",
        type="float",
        default=1.0,
        minimum=0.1,
        maximum=60.0,
        help="Seconds between samples of the focused window and input idle time; focus "
        "changes and idle transitions are exact to this step.",
    ),
    Param(
        name="idle_threshold_s",
        type="float",
        default=180.0,
        minimum=1.0,
        maximum=86_400.0,
        help="Seconds without keyboard or mouse input after which the person is idle.",
    ),
    Param(
        name="top_n",
        type="int",
        default=10,
        minimum=1,
        maximum=100,
        help="Applications (and titles per application) listed per summary; the rest is "
        "summed as other_s.",
    ),
    Param(
        name="record_titles",
        type="bool",
        default=True,
        help="Record window titles; off records the application only.",
    ),
    Param(
        name="title_max_length",
        type="int",
        default=120,
        minimum=8,
        maximum=1000,
        help="Window titles longer than this many characters are cut.",
    ),
    Param(
        name="exclude",
        type="str_list",
        default=[],
        max_items=100,
        max_length=500,
        help="Regular expressions (Python syntax, searched, case-sensitive unless (?i)) on "
        "the application or the full window title; matching time is recorded only as "
        "excluded_s, with no application and no title.",
    ),
    Param(
        name="backend",
        type="choice",
        default="auto",
        choices=BACKEND_CHOICES,
        help="Where focus and idle come from: auto (X11 when DISPLAY works, else D-Bus "
        "idle), x11, dbus, or none (record nothing).",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="Desktop activity",
    description=(
        "Which application and window had focus and whether you were at the keyboard: "
        "time per application and title, active only while not idle. Titles can be "
        "excluded or not recorded at all; never keystrokes, contents or screenshots."
    ),
    version=AGENT_VERSION,
    module="mimolo.agents.desktop_activity",
    activity_mode="active",
    params=PARAMS,
)

__all__ = ["AGENT_VERSION", "BACKEND_CHOICES", "PARAMS", "PLUGIN_ID", "TEMPLATE"]
