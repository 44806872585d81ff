"""The ``screen_tracker`` template: parameters declared once, no heavy imports."""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "screen_tracker"
AGENT_VERSION = "1.0.0"

PARAMS: tuple[Param, ...] = (
    Param(
        name="capture_interval_s",
        type="float",
        default=300.0,
        minimum=1.0,
        maximum=86_400.0,
        help="Seconds between screenshots.",
    ),
    Param(
        name="mode",
        type="choice",
        default="full_screen",
        choices=("full_screen", "active_window"),
        help=(
            "What to capture. active_window needs xdotool on Linux X11 (or Windows); "
            "elsewhere the full screen is captured and the status says why."
        ),
    ),
    Param(
        name="image_format",
        type="choice",
        default="webp",
        choices=("png", "jpeg", "webp"),
        help="File format of the saved captures.",
    ),
    Param(
        name="jpeg_quality",
        type="int",
        default=70,
        minimum=1,
        maximum=95,
        help="Quality for jpeg and webp (1-95).",
    ),
    Param(
        name="scale",
        type="float",
        default=0.5,
        minimum=0.05,
        maximum=1.0,
        help="Resize factor applied before saving.",
    ),
    Param(
        name="max_dimension_px",
        type="int",
        default=1600,
        minimum=32,
        maximum=16_384,
        help="Longest side of a saved capture, after scaling.",
    ),
    Param(
        name="redact_regions",
        type="str_list",
        default=[],
        max_items=32,
        help=(
            'Rectangles "x,y,w,h" (pixels from the monitor\'s top-left corner) filled black '
            "before anything is saved."
        ),
    ),
    Param(
        name="monitor",
        type="int",
        default=1,
        minimum=0,
        maximum=32,
        help="Monitor to capture: 1 is the primary, 0 all monitors together.",
    ),
    Param(
        name="capture_timeout_s",
        type="float",
        default=10.0,
        minimum=0.5,
        maximum=120.0,
        help="Give up on a capture (or a window query) after this many seconds.",
    ),
    Param(
        name="retention_class",
        type="str",
        default="standard",
        max_length=32,
        help="Retention class recorded with each capture (for archive/purge policies).",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="Screen tracker",
    description=(
        "Periodic low-resolution screenshots as visual breadcrumbs, stored in the "
        "instance's private artifact folder and referenced (never embedded) in summaries."
    ),
    version=AGENT_VERSION,
    module="mimolo.agents.screen_tracker",
    activity_mode="passive",
    params=PARAMS,
)

__all__ = ["AGENT_VERSION", "PARAMS", "PLUGIN_ID", "TEMPLATE"]
