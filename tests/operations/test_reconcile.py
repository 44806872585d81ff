"""The plan a new config makes: one step per kept or added instance."""

from __future__ import annotations

from mimolo.operations.reconcile import InstanceFacts, Step, plan
from mimolo.protocol.config_schema import InstanceConfig

ON = InstanceConfig(plugin_id="t", instance_label="a")
OFF = InstanceConfig(plugin_id="t", instance_label="a", enabled=False)
RELABELLED = InstanceConfig(plugin_id="t", instance_label="b")


def one(facts: InstanceFacts, *, restart: bool = True, can_start: bool = True) -> Step:
    (step,) = plan([facts], settings_changed=False, restart=restart, can_start=can_start)
    return step


def test_added_enabled_instance_starts_only_while_running() -> None:
    facts = InstanceFacts(instance_id="x", old=None, new=ON, running=False)
    assert one(facts) == Step("x", "added", "start")
    assert one(facts, can_start=False) == Step("x", "added", "none")
    off = InstanceFacts(instance_id="x", old=None, new=OFF, running=False)
    assert one(off) == Step("x", "added", "none")


def test_disabling_a_running_instance_stops_it() -> None:
    facts = InstanceFacts(instance_id="x", old=ON, new=OFF, running=True)
    assert one(facts) == Step("x", "updated", "stop")


def test_respawn_needed_restarts_or_stays_pending() -> None:
    facts = InstanceFacts(
        instance_id="x", old=ON, new=RELABELLED, running=True, respawn_needed=True
    )
    assert one(facts) == Step("x", "restarted", "restart")
    assert one(facts, restart=False) == Step("x", "restart_pending", "none")


def test_enabling_a_stopped_instance_starts_it_but_an_edit_does_not() -> None:
    enable = InstanceFacts(instance_id="x", old=OFF, new=ON, running=False)
    assert one(enable) == Step("x", "updated", "start")
    edit = InstanceFacts(instance_id="x", old=ON, new=RELABELLED, running=False)
    assert one(edit) == Step("x", "updated", "none")


def test_nothing_changed_is_unchanged() -> None:
    facts = InstanceFacts(instance_id="x", old=ON, new=ON, running=True)
    assert one(facts) == Step("x", "unchanged", "none")
    (step,) = plan([facts], settings_changed=True, restart=True, can_start=True)
    assert step == Step("x", "updated", "none")
