"""What a new config means for the running set: a pure plan, one step per instance.

Removed instances are stopped and dropped before planning (their budgets must not count);
this plans every instance the new config keeps or adds.

The supervisor gathers the facts (old and new config of each instance, whether it runs,
whether its spawn signature changed) and executes the steps; deciding is this function.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from mimolo.protocol.config_schema import InstanceConfig

Change = Literal["added", "removed", "restarted", "restart_pending", "updated", "unchanged"]
Action = Literal["start", "stop", "restart", "none"]


class InstanceFacts(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    old: InstanceConfig | None  # None: added by this config
    new: InstanceConfig
    running: bool
    respawn_needed: bool = False  # the spawn signature differs from the running process's


class Step(msgspec.Struct, frozen=True):
    instance_id: str
    change: Change
    action: Action


def plan(
    facts: Iterable[InstanceFacts], *, settings_changed: bool, restart: bool, can_start: bool
) -> list[Step]:
    """One step per instance. ``restart=False`` leaves a changed running process as it is
    (``restart_pending``); ``can_start`` is False while the supervisor is not running."""
    steps: list[Step] = []
    for f in facts:
        if f.old is None:
            start = f.new.enabled and can_start
            steps.append(Step(f.instance_id, "added", "start" if start else "none"))
            continue
        changed = f.old != f.new or settings_changed
        change: Change = "updated" if changed else "unchanged"
        action: Action = "none"
        if not f.new.enabled and f.running:
            action = "stop"
        elif f.running and f.respawn_needed:
            change, action = ("restarted", "restart") if restart else ("restart_pending", "none")
        elif f.new.enabled and not f.running and changed and not f.old.enabled and can_start:
            action = "start"
        steps.append(Step(f.instance_id, change, action))
    return steps


__all__ = ["Action", "Change", "InstanceFacts", "Step", "plan"]
