"""The timeline policy from Operations' config, read-only and lenient.

Control and the CLI read ``operations/agent_config.toml`` (never write it) for the cooldown
(``settings.cooldown_s``) and each instance's ``client_id``, through the config schema's
lenient reading (``protocol.config_schema.lenient_config``). A missing file gives the
defaults; an unreadable one gives the defaults plus a warning, never a failure: the
timeline must work whatever state Operations' config is in.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

from mimolo.dataroot import DataRoot
from mimolo.protocol.config_schema import lenient_config
from mimolo.timeline.models import DEFAULT_COOLDOWN_S, TimelinePolicy


def policy_from_config(
    data_root: DataRoot, *, cooldown_s: float | None = None, group_by_client: bool = True
) -> tuple[TimelinePolicy, list[str]]:
    """The policy for this data root (an explicit ``cooldown_s`` wins over the config's)."""
    path = data_root.config_path
    warnings: list[str] = []
    raw: dict[str, Any] = {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        warnings.append(f"{path}: not used for the timeline policy ({exc})")
    config, _ = lenient_config(raw)  # read-only: what does not convert is just not used
    configured = config.settings.cooldown_s
    if not math.isfinite(configured) or configured < 0:
        configured = DEFAULT_COOLDOWN_S
    policy = TimelinePolicy(
        cooldown_s=cooldown_s if cooldown_s is not None else configured,
        client_of_instance={
            iid: inst.client_id for iid, inst in config.instances.items() if inst.client_id
        },
        group_by_client=group_by_client,
    )
    return policy, warnings


__all__ = ["policy_from_config"]
