"""The shape of ``operations/agent_config.toml``: global settings and agent instances.

Plain data only. Loading, validation against templates and tomlkit edits live in
``config.py`` / ``config_store.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from mimolo.protocol.review import ReviewSettings


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[settings]``: global supervision, ledger and policy settings."""

    heartbeat_interval_s: float = 15.0
    agent_flush_interval_s: float = 60.0
    start_timeout_s: float = 3.0
    hang_timeout_s: float = 120.0
    stop_grace_s: float = 5.0
    max_line_bytes: int = 256 * 1024
    queue_max: int = 1000
    # Every message type but summaries shares one per-agent bucket (0 = unlimited).
    rate_limit_per_s: float = 1 / 3
    rate_limit_burst: int = 10
    # Summaries are evidence: their own bucket, so chatter never starves them, plus a
    # bytes-per-second cap on what one agent can write into the ledger.
    summary_rate_limit_per_s: float = 1 / 3
    summary_rate_limit_burst: int = 10
    evidence_bytes_per_s: float = 16 * 1024
    evidence_bytes_burst: int = 1024 * 1024
    restart_backoff_initial_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    restart_stable_after_s: float = 60.0
    quarantine_max_restarts: int = 5
    quarantine_window_s: float = 300.0
    ledger_fsync_interval_ms: int = 200
    diagnostics_retention_days: int = 30
    cpu_default_budget_percent: float = 2.0
    cpu_max_budget_percent: float = 10.0
    cpu_envelope_percent: float = 50.0
    ops_cpu_budget_percent: float = 5.0
    resource_sample_interval_s: float = 10.0
    cooldown_s: float = 600.0
    # Artifact inventory warnings per instance (0 = no warning); nothing is ever purged.
    artifact_warn_bytes: int = 10 * 1024**3
    artifact_warn_files: int = 200_000
    artifact_warn_age_days: int = 365
    # How long a purge plan stays valid before it must be planned again (DESIGN §10).
    purge_plan_ttl_s: float = 900.0
    developer_mode: bool = False
    # The IANA zone days, weeks, totals and reports are cut in ("" = the system's zone).
    timezone: str = ""


class InstanceConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[instances.<instance_id>]``: one agent instance provisioned from a template."""

    plugin_id: str  # the template it is provisioned from
    instance_label: str
    enabled: bool = True
    flush_interval_s: float | None = None
    heartbeat_interval_s: float | None = None
    cpu_budget_percent: float | None = None
    client_id: str | None = None
    params: dict[str, Any] = {}


# Instance fields renamed to the one vocabulary; the old names are still read (config
# files written before, IPC clients of before) and mapped at those boundaries.
LEGACY_INSTANCE_KEYS: dict[str, str] = {"template": "plugin_id", "label": "instance_label"}


class SyncSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[sync]``: Operations ships its ledger to the team store (docs/team.md). Where and
    how to connect is libpq's business (a conninfo, a service name, ``~/.pgpass``): a
    password here is refused."""

    conninfo: str = ""  # a libpq conninfo, URI or "service=NAME"; "" = the PG* variables
    enabled: bool = True
    interval_s: float = 30.0
    batch_size: int = 5000

    def __post_init__(self) -> None:
        if _PASSWORD_IN_CONNINFO.search(self.conninfo):
            raise ValueError(
                "sync.conninfo must not hold a password: put it in ~/.pgpass or a service file"
            )
        if not 1.0 <= self.interval_s <= 86_400:
            raise ValueError("sync.interval_s must be between 1 and 86400")
        if not 1 <= self.batch_size <= 100_000:
            raise ValueError("sync.batch_size must be between 1 and 100000")


_PASSWORD_IN_CONNINFO = re.compile(r"(?i)(?:\bpassword\s*=)|(?:^\w+://[^/@:]*:[^/@]*@)")


class AgentConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    settings: Settings = msgspec.field(default_factory=Settings)
    instances: dict[str, InstanceConfig] = {}
    review: ReviewSettings = ReviewSettings()  # ``[review]``, rules as ``[[review.rules]]``
    sync: SyncSettings | None = None  # ``[sync]``: the team store shipper (docs/team.md)


def current_instance_keys(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An instance's fields with legacy names mapped to today's, and the legacy names that
    were given beside today's (today's value is kept; strict callers refuse those)."""
    out = dict(raw)
    both: list[str] = []
    for old, new in LEGACY_INSTANCE_KEYS.items():
        if old in out:
            value = out.pop(old)
            if new in out:
                both.append(old)
            else:
                out[new] = value
    return out, both


def lenient_config(raw: Mapping[str, Any]) -> tuple[AgentConfig, list[str]]:
    """What a read-only reader can use of a parsed config document, and what it could not.

    Each settings key and each instance that converts is kept; anything else is named in
    the warnings. Operations itself validates strictly (``operations.config``).
    """
    warnings: list[str] = []
    settings: dict[str, Any] = {}
    raw_settings = raw.get("settings", {})
    for key, value in raw_settings.items() if isinstance(raw_settings, Mapping) else ():
        try:
            msgspec.convert({key: value}, Settings)
        except msgspec.ValidationError as exc:
            warnings.append(f"settings.{key}: {exc}")
        else:
            settings[key] = value
    instances: dict[str, InstanceConfig] = {}
    raw_instances = raw.get("instances", {})
    for iid, table in raw_instances.items() if isinstance(raw_instances, Mapping) else ():
        try:
            if not isinstance(table, Mapping):
                raise msgspec.ValidationError("must be a table")
            instances[str(iid)] = msgspec.convert(current_instance_keys(table)[0], InstanceConfig)
        except msgspec.ValidationError as exc:
            warnings.append(f"instances.{iid}: {exc}")
    review = _lenient_review(raw.get("review", {}), warnings)
    sync: SyncSettings | None = None
    if "sync" in raw:
        try:
            sync = msgspec.convert(raw["sync"], SyncSettings)
        except msgspec.ValidationError as exc:
            warnings.append(f"sync: {exc}")
    config = AgentConfig(
        settings=msgspec.convert(settings, Settings),
        instances=instances,
        review=review,
        sync=sync,
    )
    return config, warnings


def _lenient_review(raw: object, warnings: list[str]) -> ReviewSettings:
    """``[review]`` key by key (rules one by one): what converts is kept, the rest named."""
    if not isinstance(raw, Mapping):
        warnings.append("review: must be a table")
        return ReviewSettings()
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "rules" and isinstance(value, list):
            rules: list[Any] = []
            for i, rule in enumerate(value):
                try:
                    rules.append(msgspec.convert({"rules": [rule]}, ReviewSettings).rules[0])
                except msgspec.ValidationError as exc:
                    warnings.append(f"review.rules[{i}]: {exc}")
            kept["rules"] = rules
            continue
        try:
            msgspec.convert({key: value}, ReviewSettings)
        except msgspec.ValidationError as exc:
            warnings.append(f"review.{key}: {exc}")
        else:
            kept[key] = value
    return msgspec.convert(kept, ReviewSettings)


__all__ = [
    "LEGACY_INSTANCE_KEYS",
    "AgentConfig",
    "InstanceConfig",
    "Settings",
    "SyncSettings",
    "current_instance_keys",
    "lenient_config",
]
