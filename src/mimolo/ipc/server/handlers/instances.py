"""Pure checks for instance provisioning over IPC: template lookup, params, new ids.

Everything a client sends is validated here before it reaches the config file: the
template must exist, only its declared parameters may be set (coerced to their declared
type, so CLI strings become numbers), labels are printable, ids are slugs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import msgspec

from mimolo.errors import ConfigError
from mimolo.protocol.config_schema import InstanceConfig
from mimolo.protocol.params import validate_params
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import check_label, check_slug, slugify

POSITIVE_FIELDS: Final = ("flush_interval_s", "heartbeat_interval_s", "cpu_budget_percent")


def template_for(templates: Mapping[str, AgentTemplate], plugin_id: str) -> AgentTemplate:
    """The named template or ``unknown_template``."""
    template = templates.get(plugin_id)
    if template is None:
        known = ", ".join(sorted(templates)) or "none"
        raise ConfigError(
            f"unknown template {plugin_id!r} (known: {known})",
            field="plugin_id",
            code="unknown_template",
        )
    return template


def checked_params(template: AgentTemplate, given: Mapping[str, Any]) -> dict[str, Any]:
    """The given parameters, validated and coerced; defaults are not written out."""
    canonical = validate_params(template.params, given, prefix="params")
    return {name: canonical[name] for name in given}


def check_instance(instance: InstanceConfig, template: AgentTemplate) -> InstanceConfig:
    """Validate every field of an instance against its template; params canonicalised."""
    check_label(instance.instance_label, "instance_label")
    if instance.client_id is not None:
        check_slug(instance.client_id, "client_id")
    for name in POSITIVE_FIELDS:
        value = getattr(instance, name)
        if value is not None and not value > 0:
            raise ConfigError("must be greater than 0", field=name)
    return msgspec.structs.replace(instance, params=checked_params(template, instance.params))


def new_instance_id(
    label: str,
    taken: Collection[str],
    *,
    fallback: str = "instance",
    exists: Callable[[str], bool] = lambda _id: False,
) -> str:
    """A fresh slug from ``label``: ``my-label``, ``my-label-2`` … never one in ``taken``."""
    base = slugify(label, fallback)[:56].strip("-_") or fallback
    candidate, n = base, 1
    while candidate in taken or exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return check_slug(candidate, "instance_id")


def copy_label(label: str, taken_labels: Collection[str]) -> str:
    """``Label (copy)``, ``Label (copy 2)`` … for duplicates without a new label."""
    base = f"{label} (copy)"
    candidate, n = base, 1
    while candidate in taken_labels:
        n += 1
        candidate = f"{label} (copy {n})"
    return candidate


def instance_view(instance_id: str, instance: InstanceConfig) -> dict[str, Any]:
    """The config view of one instance, as answered over IPC."""
    return {"instance_id": instance_id, **msgspec.to_builtins(instance)}


__all__ = [
    "POSITIVE_FIELDS",
    "check_instance",
    "checked_params",
    "copy_label",
    "instance_view",
    "new_instance_id",
    "template_for",
]
