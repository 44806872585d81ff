"""The timeline policy from Operations' config, read-only and lenient.

Control and the CLI read ``operations/agent_config.toml`` (never write it) for the cooldown
(``settings.cooldown_s``) and each instance's ``client_id``, through the config schema's
lenient reading (``protocol.config_schema.lenient_config``). A missing file gives the
defaults; an unreadable one gives the defaults plus a warning, never a failure: the
timeline must work whatever state Operations' config is in.
"""

from __future__ import annotations

import math
import threading
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.protocol.config_schema import AgentConfig, lenient_config
from mimolo.timeline.models import DEFAULT_COOLDOWN_S, TimelinePolicy
from mimolo.timeline.review import ReviewInputs
from mimolo.timeline.review_io import read_adjustments, read_invoices
from mimolo.timeline.rules import compile_rules
from mimolo.timeline.zones import resolve_zone

_PARSED: dict[Path, tuple[bytes, AgentConfig, tuple[str, ...], tuple[str, ...]]] = {}
_PARSED_LOCK = threading.Lock()


def _parsed(path: Path) -> tuple[AgentConfig, tuple[str, ...], tuple[str, ...]]:
    """The config at ``path`` with the warnings of reading it and of converting it, parsed
    again only when the file's bytes changed (a view under 200 rules spent most of its time
    in the TOML parser); callers must not mutate it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return lenient_config({})[0], (), ()
    except OSError as exc:
        return lenient_config({})[0], (f"{path}: not used ({exc})",), ()
    with _PARSED_LOCK:
        kept = _PARSED.get(path)
    if kept is not None and kept[0] == data:
        return kept[1], kept[2], kept[3]
    found: tuple[str, ...] = ()
    raw: dict[str, Any] = {}
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        found = (f"{path}: not used ({exc})",)
    config, converted = lenient_config(raw)
    with _PARSED_LOCK:
        _PARSED[path] = (data, config, found, tuple(converted))
    return config, found, tuple(converted)


def read_config(data_root: DataRoot) -> tuple[AgentConfig, list[str]]:
    """Operations' config as every reader sees it, without Operations: leniently (what does
    not convert is named in the warnings, not fatal; a missing or unreadable file gives the
    defaults). Callers must not mutate it."""
    config, found, converted = _parsed(data_root.config_path)
    return config, [*found, *converted]


def _read_config(data_root: DataRoot, warnings: list[str]) -> AgentConfig:
    """The config for the timeline policy (only a file that cannot be read is a warning)."""
    config, found, _ = _parsed(data_root.config_path)
    warnings.extend(found)
    return config


def policy_from_config(
    data_root: DataRoot, *, cooldown_s: float | None = None, group_by_client: bool = True
) -> tuple[TimelinePolicy, list[str]]:
    """The policy for this data root (an explicit ``cooldown_s`` wins over the config's)."""
    warnings: list[str] = []
    config = _read_config(data_root, warnings)
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


def review_inputs_from_config(
    data_root: DataRoot, *, timezone: str | None = None
) -> tuple[ReviewInputs, list[str]]:
    """The review inputs of this data root, read without Operations: the zone (an
    explicit ``timezone`` wins over ``settings.timezone``), ``[review]`` and the journals.

    An unknown zone in the config falls back to the system's with a warning; an explicit
    one that is unknown is the caller's ``ConfigError``. Rules that do not compile are
    left out with a warning, so the timeline still shows.
    """
    warnings: list[str] = []
    config = _read_config(data_root, warnings)
    if timezone is not None:
        tz = resolve_zone(timezone)
    else:
        try:
            tz = resolve_zone(config.settings.timezone)
        except ConfigError as exc:
            warnings.append(f"{exc}; using the system's zone")
            tz = resolve_zone("")
    review = config.review
    try:
        compile_rules(review.rules, review.default)
    except ConfigError as exc:
        warnings.append(f"review.{exc}; rules not applied")
        review = msgspec.structs.replace(review, rules=())
    inputs = ReviewInputs(
        tz=tz,
        settings=review,
        adjustments=read_adjustments(data_root),
        invoices=read_invoices(data_root),
    )
    return inputs, warnings


__all__ = ["policy_from_config", "read_config", "review_inputs_from_config"]
