"""The signature of a spawn (DESIGN §3): what tells a config change that needs a restart
from one that does not.

The environment itself is built by ``mimolo.protocol.agent_env.agent_environment`` from the
same ``SpawnFacts``; two spawns with equal signatures give the agent the same command and
the same environment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import msgspec

from mimolo.protocol.agent_env import SpawnFacts


def spawn_signature(argv: Sequence[str], facts: SpawnFacts) -> str:
    """Equal for two spawns exactly when command and agent environment are equal."""
    return json.dumps([list(argv), msgspec.to_builtins(facts)], sort_keys=True)


__all__ = ["spawn_signature"]
