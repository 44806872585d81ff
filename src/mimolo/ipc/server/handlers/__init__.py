"""One module per command family, each listing its commands (``COMMANDS``) for the registry.

``runtime``: ping, status, shutdown, diagnostics. ``agents``: runtime states and the
lifecycle. ``instances``: templates and provisioning. ``widgets``: widget frames, actions
and artifact tokens. ``capture``: the off-the-record pause. ``trust``: the trust policy and
the mutations of ``trust/`` (keys, the signed allowlist). ``artifacts``: inventory, archives,
restore and the two-step purge. ``review``: categorization rules, the adjustments journal
and invoices.
"""

from __future__ import annotations

from typing import Any, Final

from mimolo.ipc.server.context import IpcContext
from mimolo.ipc.server.handlers import (
    agents,
    artifacts,
    capture,
    instances,
    packages,
    review,
    runtime,
    trust,
    widgets,
)
from mimolo.ipc.server.registry import Command

COMMANDS: Final[tuple[Command[IpcContext, Any], ...]] = (
    *runtime.COMMANDS,
    *agents.COMMANDS,
    *instances.COMMANDS,
    *widgets.COMMANDS,
    *capture.COMMANDS,
    *trust.COMMANDS,
    *artifacts.COMMANDS,
    *packages.COMMANDS,
    *review.COMMANDS,
)

__all__ = ["COMMANDS"]
