"""Inside a Python agent: its declared parameters, read from the environment.

The declarations and their validation are the contract (``mimolo.protocol.params``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Final

from mimolo.errors import ConfigError
from mimolo.protocol import agent_env
from mimolo.protocol.params import Param, validate_params

ENV_AGENT_CONFIG: Final = agent_env.AGENT_CONFIG


def load_agent_params(declared: Sequence[Param]) -> dict[str, Any]:
    """Inside an agent: the instance's parameters from the environment, validated."""
    raw = os.environ.get(ENV_AGENT_CONFIG, "").strip()
    values: object = json.loads(raw) if raw else {}
    if not isinstance(values, dict):
        raise ConfigError(f"{ENV_AGENT_CONFIG} must hold a JSON object", field=ENV_AGENT_CONFIG)
    return validate_params(declared, values)


__all__ = ["ENV_AGENT_CONFIG", "load_agent_params"]
