"""Shapes of Operations' answers as the views use them, read tolerantly.

The views must never crash on an answer that lacks a field: a missing number shows as
a dash. When Operations is down, the last snapshot it wrote (``operations/state.json``) gives
the dashboard its last known states, marked stale.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from mimolo.control.forms import decode_params
from mimolo.dataroot import DataRoot
from mimolo.protocol.params import Param

log = logging.getLogger(__name__)


class TemplateInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A template as the add-instance and configure forms need it."""

    plugin_id: str
    label: str
    description: str = ""
    version: str = ""
    activity_mode: str = "passive"
    verified: bool = True
    params: tuple[Param, ...] = ()


def _list_of(data: Any, *names: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    for name in names:
        value = data.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return [
                {"instance_id": key, **item} if isinstance(item, dict) else item
                for key, item in value.items()
            ]
    return []


def agent_states(data: Any) -> list[dict[str, Any]]:
    """``get_agent_states`` → a list of state dicts sorted by label."""
    states = [s for s in _list_of(data, "states", "agents", "instances") if isinstance(s, dict)]
    return sorted(
        states, key=lambda s: (str(s.get("instance_label", "")), str(s.get("instance_id", "")))
    )


def templates(data: Any) -> list[TemplateInfo]:
    """``list_agent_templates`` → template infos with decoded parameter declarations."""
    out: list[TemplateInfo] = []
    for item in _list_of(data, "templates"):
        if not isinstance(item, dict) or not isinstance(item.get("plugin_id"), str):
            continue
        out.append(
            TemplateInfo(
                plugin_id=item["plugin_id"],
                label=str(item.get("label") or item["plugin_id"]),
                description=str(item.get("description") or ""),
                version=str(item.get("version") or ""),
                activity_mode=str(item.get("activity_mode") or "passive"),
                verified=bool(item.get("verified", True)),
                params=decode_params(item.get("params")),
            )
        )
    return sorted(out, key=lambda t: t.plugin_id)


def instances(data: Any) -> dict[str, dict[str, Any]]:
    """``get_agent_instances`` → instance_id → instance config dict."""
    out: dict[str, dict[str, Any]] = {}
    for item in _list_of(data, "instances"):
        if isinstance(item, dict) and isinstance(item.get("instance_id"), str):
            out[item["instance_id"]] = item
    return out


def snapshot_states(root: DataRoot) -> list[dict[str, Any]]:
    """The last states Operations wrote to ``state.json`` (empty when absent or unreadable)."""
    try:
        raw = root.state_path.read_bytes()
        data = msgspec.json.decode(raw)
    except (OSError, msgspec.DecodeError) as exc:
        log.debug("no usable state snapshot: %s", exc)
        return []
    return agent_states(data)


__all__ = ["TemplateInfo", "agent_states", "instances", "snapshot_states", "templates"]
