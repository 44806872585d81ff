"""The ``client_folder_activity`` template: parameters declared once, no heavy imports."""

from __future__ import annotations

from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

PLUGIN_ID = "client_folder_activity"
AGENT_VERSION = "1.0.0"

DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    "__pycache__/",
    ".venv/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".idea/",
    ".cache/",
    "*.tmp",
    "*.temp",
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    "~$*",
    ".~lock.*",
    "*.pyc",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    "*.crdownload",
    "*.part",
)

PARAMS: tuple[Param, ...] = (
    Param(
        name="client_id",
        type="str",
        default="",
        help="Client or workspace id attached to every summary (used for billing).",
    ),
    Param(
        name="client_name",
        type="str",
        default="",
        help="Human-readable client name shown in Control and reports.",
    ),
    Param(
        name="watch_paths",
        type="path_list",
        required=True,
        max_items=32,
        help="Folders to watch (recursively). One or more.",
    ),
    Param(
        name="include_globs",
        type="str_list",
        default=[],
        max_items=100,
        help="Only count files matching one of these globs (empty: every file).",
    ),
    Param(
        name="exclude_globs",
        type="str_list",
        default=list(DEFAULT_EXCLUDE_GLOBS),
        max_items=200,
        help="Ignore matching files; a trailing '/' names a directory ignored at any depth.",
    ),
    Param(
        name="follow_symlinks",
        type="bool",
        default=False,
        help="Count changes reached through symlinked directories.",
    ),
    Param(
        name="coalesce_window_s",
        type="float",
        default=5.0,
        minimum=0.0,
        maximum=3600.0,
        help="Changes to one file closer together than this count once.",
    ),
    Param(
        name="emit_path_samples_limit",
        type="int",
        default=20,
        minimum=0,
        maximum=500,
        help="At most this many relative paths per summary (never contents).",
    ),
    Param(
        name="poll_fallback",
        type="bool",
        default=False,
        help="Poll instead of native watching (network drives, containers).",
    ),
    Param(
        name="poll_interval_s",
        type="float",
        default=2.0,
        minimum=0.1,
        maximum=600.0,
        help="Seconds between polls when polling.",
    ),
    Param(
        name="max_pending_changes",
        type="int",
        default=10_000,
        minimum=10,
        maximum=1_000_000,
        help="Bound on files held for coalescing; past it the oldest settle early.",
    ),
)

TEMPLATE = AgentTemplate(
    plugin_id=PLUGIN_ID,
    label="Client folder activity",
    description=(
        "Counts file changes (created, modified, deleted, renamed) in a client's project "
        "folders. Records relative paths and counts, never file contents."
    ),
    version=AGENT_VERSION,
    module="mimolo.agents.client_folder_activity",
    activity_mode="active",
    params=PARAMS,
)

__all__ = ["AGENT_VERSION", "DEFAULT_EXCLUDE_GLOBS", "PARAMS", "PLUGIN_ID", "TEMPLATE"]
