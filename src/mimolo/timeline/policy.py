"""The timeline policy from Operations' config, read-only and lenient.

Control and the CLI read ``operations/agent_config.toml`` (never write it) for the cooldown
(``settings.cooldown_s``) and each instance's ``client_id``. A missing file gives the
defaults; an unreadable one gives the defaults plus a warning, never a failure: the
timeline must work whatever state Operations' config is in.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

from mimolo.dataroot import DataRoot
from mimolo.timeline.models import DEFAULT_COOLDOWN_S, TimelinePolicy


def _cooldown(settings: Any) -> float | None:
    value = settings.get("cooldown_s") if isinstance(settings, dict) else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _clients(instances: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(instances, dict):
        for instance_id, inst in instances.items():
            client = inst.get("client_id") if isinstance(inst, dict) else None
            if isinstance(client, str) and client:
                out[str(instance_id)] = client
    return out


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
    configured = _cooldown(raw.get("settings"))
    policy = TimelinePolicy(
        cooldown_s=cooldown_s
        if cooldown_s is not None
        else (configured if configured is not None else DEFAULT_COOLDOWN_S),
        client_of_instance=_clients(raw.get("instances")),
        group_by_client=group_by_client,
    )
    return policy, warnings


__all__ = ["policy_from_config"]
