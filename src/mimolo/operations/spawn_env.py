"""What an agent process is started with (DESIGN §3): its command, its environment, and
the signature of that spawn, which tells a config change that needs a restart from one
that does not.

The environment itself is built by ``mimolo.protocol.agent_env.agent_environment`` from
``SpawnFacts``; two spawns with equal signatures give the agent the same command and the
same environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import msgspec

from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.operations.instance import InstanceRuntime
from mimolo.protocol.agent_env import SpawnFacts, agent_environment

INSTANCE_SUBDIRS = ("artifacts", "index", "archives")


class SpawnPlan(msgspec.Struct, frozen=True):
    """What to start for an instance, and the signature of that spawn."""

    argv: Sequence[str]
    env: dict[str, str]
    signature: str


def spawn_signature(argv: Sequence[str], facts: SpawnFacts) -> str:
    """Equal for two spawns exactly when command and agent environment are equal."""
    return json.dumps([list(argv), msgspec.to_builtins(facts)], sort_keys=True)


def spawn_facts(rt: InstanceRuntime, data_root: DataRoot) -> SpawnFacts:
    """The instance's facts; its client is passed as ``client_id`` when the template has one."""
    params = dict(rt.config.params)
    if (
        rt.config.client_id
        and any(p.name == "client_id" for p in rt.template.params)
        and not params.get("client_id")
    ):
        params["client_id"] = rt.config.client_id
    return SpawnFacts(
        instance_id=rt.instance_id,
        instance_label=rt.config.instance_label,
        plugin_id=rt.template.plugin_id,
        data_dir=str(data_root.root),
        instance_dir=str(data_root.instance_dir(rt.template.plugin_id, rt.instance_id)),
        params=params,
        heartbeat_interval_s=rt.heartbeat_interval_s,
        cpu_budget_percent=rt.budget_percent,
    )


def spawn_signature_of(rt: InstanceRuntime, data_root: DataRoot) -> str:
    """The signature the instance's next spawn would have."""
    return spawn_signature(rt.template.argv(), spawn_facts(rt, data_root))


def plan_spawn(rt: InstanceRuntime, data_root: DataRoot) -> SpawnPlan:
    """The instance's private storage made ready, and what to start it with."""
    path = data_root.instance_dir(rt.template.plugin_id, rt.instance_id)
    for sub in INSTANCE_SUBDIRS:
        ensure_private_dir(path / sub)
    ensure_private_dir(path)
    facts = spawn_facts(rt, data_root)
    argv = rt.template.argv()
    return SpawnPlan(argv, agent_environment(facts, os.environ), spawn_signature(argv, facts))


__all__ = [
    "INSTANCE_SUBDIRS",
    "SpawnPlan",
    "plan_spawn",
    "spawn_facts",
    "spawn_signature",
    "spawn_signature_of",
]
