"""Loading and validating ``operations/agent_config.toml`` (creating a commented default).

Reading uses ``tomllib``; edits of an existing file go through ``config_store`` (tomlkit) so
comments survive. Every error names the offending key (``settings.hang_timeout_s``,
``instances.<id>.params.<name>``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot, write_atomic
from mimolo.errors import ConfigError
from mimolo.operations.review_config import check_review, check_timezone
from mimolo.protocol.config_schema import (
    LEGACY_INSTANCE_KEYS,
    AgentConfig,
    InstanceConfig,
    Settings,
    SyncSettings,
    current_instance_keys,
)
from mimolo.protocol.params import validate_params
from mimolo.protocol.review import ReviewSettings
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import check_label, check_slug

_T = TypeVar("_T")
TemplateResolver = Callable[[str], AgentTemplate | None]

_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")

# Settings that must be strictly positive / non-negative.
_POSITIVE = (
    "heartbeat_interval_s",
    "purge_plan_ttl_s",
    "agent_flush_interval_s",
    "start_timeout_s",
    "hang_timeout_s",
    "stop_grace_s",
    "max_line_bytes",
    "queue_max",
    "restart_backoff_initial_s",
    "restart_backoff_max_s",
    "quarantine_max_restarts",
    "quarantine_window_s",
    "resource_sample_interval_s",
    "ledger_fsync_interval_ms",
    "diagnostics_retention_days",
    "cpu_max_budget_percent",
    "cpu_envelope_percent",
)
_NON_NEGATIVE = (
    "rate_limit_per_s",
    "rate_limit_burst",
    "summary_rate_limit_per_s",
    "summary_rate_limit_burst",
    "evidence_bytes_per_s",
    "evidence_bytes_burst",
    "restart_stable_after_s",
    "cpu_default_budget_percent",
    "ops_cpu_budget_percent",
    "cooldown_s",
    "artifact_warn_bytes",
    "artifact_warn_files",
    "artifact_warn_age_days",
)
_INSTANCE_POSITIVE = ("flush_interval_s", "heartbeat_interval_s", "cpu_budget_percent")


def builtin_resolver() -> TemplateResolver:
    """The default resolver: built-in templates by ``plugin_id``."""
    templates = builtin_templates()
    return templates.get


def _convert(value: object, kind: type[_T], prefix: str) -> _T:
    """msgspec.convert with the error mapped to ``ConfigError(field=<prefix>.<path>)``."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = _AT_PATH.search(text)
        path = at.group("path") if at else ""
        path = re.sub(r"\[(?:'|\")?([^\]'\"]+)(?:'|\")?\]", r".\1", path).strip(".")
        message = _AT_PATH.sub("", text)
        for pattern, what in ((_UNKNOWN, "unknown key"), (_MISSING, "missing required key")):
            found = pattern.search(text)
            if found:
                path = f"{path}.{found.group('field')}" if path else found.group("field")
                message = what
                break
        key = f"{prefix}.{path}" if path else prefix
        raise ConfigError(message, field=key) from None


def _check_settings(settings: Settings) -> None:
    for name in _POSITIVE:
        if getattr(settings, name) <= 0:
            raise ConfigError("must be greater than 0", field=f"settings.{name}")
    for name in _NON_NEGATIVE:
        if getattr(settings, name) < 0:
            raise ConfigError("must not be negative", field=f"settings.{name}")
    if settings.max_line_bytes < 1024:
        raise ConfigError("must be at least 1024", field="settings.max_line_bytes")
    if settings.restart_backoff_max_s < settings.restart_backoff_initial_s:
        raise ConfigError(
            "must be >= settings.restart_backoff_initial_s", field="settings.restart_backoff_max_s"
        )


def _check_instance(
    instance_id: str, inst: InstanceConfig, resolve: TemplateResolver, written: dict[str, str]
) -> InstanceConfig:
    """Check one instance; errors name each key as the file spells it (``written``)."""
    prefix = f"instances.{instance_id}"
    check_slug(instance_id, f"{prefix}")
    check_label(inst.instance_label, f"{prefix}.{written.get('instance_label', 'instance_label')}")
    template = resolve(inst.plugin_id) if isinstance(inst.plugin_id, str) else None
    if template is None:
        raise ConfigError(
            f"unknown template {inst.plugin_id!r}",
            field=f"{prefix}.{written.get('plugin_id', 'plugin_id')}",
            code="unknown_template",
        )
    for name in _INSTANCE_POSITIVE:
        value = getattr(inst, name)
        if value is not None and value <= 0:
            raise ConfigError("must be greater than 0", field=f"{prefix}.{name}")
    if inst.client_id is not None:
        check_slug(inst.client_id, f"{prefix}.client_id")
    params = validate_params(template.params, inst.params, prefix=f"{prefix}.params")
    return msgspec.structs.replace(inst, params=params)


def _current_keys(instance_id: str, raw: object) -> object:
    """``raw`` with legacy key names mapped to today's (both spellings: refused)."""
    if not isinstance(raw, Mapping):
        return raw
    out, both = current_instance_keys(raw)
    if both:
        new = LEGACY_INSTANCE_KEYS[both[0]]
        raise ConfigError(
            f"give {new!r} or its old name {both[0]!r}, not both",
            field=f"instances.{instance_id}.{both[0]}",
        )
    return out


def _written_names(raw: object) -> dict[str, str]:
    """Today's key -> the legacy name the file used for it."""
    if not isinstance(raw, Mapping):
        return {}
    return {new: old for old, new in LEGACY_INSTANCE_KEYS.items() if old in raw}


def validate_config(raw: Mapping[str, Any], resolve: TemplateResolver) -> AgentConfig:
    """Convert a parsed TOML document into a checked ``AgentConfig`` (params canonicalised)."""
    unknown = sorted(set(raw) - {"settings", "instances", "review", "sync"})
    if unknown:
        raise ConfigError(
            "unknown key (known: settings, instances, review, sync)", field=unknown[0]
        )
    sync = _convert(raw["sync"], SyncSettings, "sync") if "sync" in raw else None
    settings = _convert(raw.get("settings", {}), Settings, "settings")
    review = _convert(raw.get("review", {}), ReviewSettings, "review")
    raw_instances = raw.get("instances", {})
    if not isinstance(raw_instances, Mapping):
        raise ConfigError("must be a table of instances", field="instances")
    parsed = {
        str(iid): _convert(_current_keys(str(iid), value), InstanceConfig, f"instances.{iid}")
        for iid, value in raw_instances.items()
    }
    config = AgentConfig(settings=settings, instances=parsed, review=review)
    _check_settings(config.settings)
    check_timezone(config.settings.timezone)
    check_review(config.review)
    instances = {
        instance_id: _check_instance(
            instance_id, inst, resolve, _written_names(raw_instances.get(instance_id))
        )
        for instance_id, inst in config.instances.items()
    }
    return AgentConfig(
        settings=config.settings, instances=instances, review=config.review, sync=sync
    )


def parse_config_text(text: str, resolve: TemplateResolver) -> AgentConfig:
    """Parse and validate TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", code="config_syntax") from None
    return validate_config(raw, resolve)


DEFAULT_INSTANCE_ID = "desktop"
"""The one instance a first run starts: desktop_activity (real work, nothing synthetic)."""


def default_config_text(templates: Mapping[str, AgentTemplate]) -> str:
    """The commented first-run file: one desktop_activity instance (when it is built in).

    Example agents write synthetic evidence, so they are never started by default; they
    are for demos (``mimolo demo-data`` writes demo evidence; docs show how to add one).
    """
    lines = [
        "# MiMoLo Operations configuration (operations/agent_config.toml).",
        "# Written by Operations; edit while Operations is stopped, or through",
        "# `mimolo instances ...` / Control while it runs. Every key is documented",
        "# in docs/operations.md.",
        "",
        "[settings]",
        "# Seconds between agent heartbeats; 2x this without one marks an agent degraded.",
        "heartbeat_interval_s = 15.0",
        "# Seconds between scheduled flushes (one summary per flush) unless an instance says.",
        "agent_flush_interval_s = 60.0",
        "# No output at all for this long restarts an agent.",
        "hang_timeout_s = 120.0",
        "# Days of diagnostics files to keep.",
        "diagnostics_retention_days = 30",
        "",
    ]
    desktop = templates.get("desktop_activity")
    if desktop is not None:
        lines += [
            "# The focused application and window, and whether you are at the keyboard",
            "# (docs/agents/desktop_activity.md). Without a display it records nothing",
            "# and says why in its health.",
            f"[instances.{DEFAULT_INSTANCE_ID}]",
            'plugin_id = "desktop_activity"',
            'instance_label = "Desktop activity"',
            "enabled = true",
            "",
            f"[instances.{DEFAULT_INSTANCE_ID}.params]",
            "# Privacy: record the application only, or leave matching windows out:",
            "# record_titles = false",
            '# exclude = ["(?i)private", "^keepassxc$"]',
            "",
        ]
    return "\n".join(lines)


def load_config(
    data_root: DataRoot, resolve: TemplateResolver | None = None, *, create: bool = True
) -> AgentConfig:
    """Read, or on first run create, the config file; raise ConfigError naming the key."""
    resolve = resolve or builtin_resolver()
    path: Path = data_root.config_path
    if not path.exists():
        if not create:
            return AgentConfig()
        text = default_config_text(builtin_templates())
        write_atomic(path, text.encode("utf-8"))
        return parse_config_text(text, resolve)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", code="config_syntax") from None
    return parse_config_text(text, resolve)


__all__ = [
    "DEFAULT_INSTANCE_ID",
    "TemplateResolver",
    "builtin_resolver",
    "default_config_text",
    "load_config",
    "parse_config_text",
    "validate_config",
]
