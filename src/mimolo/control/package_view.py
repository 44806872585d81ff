"""What the Packages view shows, from Operations' answers (pure).

``installed_rows`` groups ``list_installed_packages`` by plugin (the version instances run
first, with the instances using it); ``policy_of`` reads ``get_trust_policy``;
``review_of`` turns an ``inspect_package`` answer into what the user sees before
confirming. What an install would do (``action``: install, upgrade, force reinstall of the
identical package, or nothing with the ``refusal``) is Operations' decision, shown as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cmp_to_key
from typing import Any, Final, Literal

import msgspec

from mimolo.packages.versions import compare_versions, is_version

Action = Literal["install", "upgrade", "reinstall"]
ACTIONS: Final[tuple[Action, ...]] = ("install", "upgrade", "reinstall")
TRUST_STATES: Final = frozenset({"verified", "UNVERIFIED", "refused"})


class Trust(msgspec.Struct, frozen=True, kw_only=True):
    """A package's trust state as shown: ``verified``, ``UNVERIFIED`` or ``refused``."""

    state: str
    signer: str | None = None
    claimed_signer: str | None = None
    reason: str | None = None
    code: str | None = None


class InstanceRef(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    instance_label: str
    state: str = ""
    version: str = ""


class InstalledVersion(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    package_hash: str
    trust: Trust
    current: bool


class PackageRow(msgspec.Struct, frozen=True, kw_only=True):
    """One installed plugin: its current version first, and the instances using it."""

    plugin_id: str
    label: str
    description: str
    version: str
    package_hash: str
    trust: Trust
    capabilities: tuple[str, ...]
    entry: tuple[str, ...]
    versions: tuple[InstalledVersion, ...]
    instances: tuple[InstanceRef, ...]


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    mode: str
    developer_mode: bool
    trusted_keys: tuple[str, ...]
    allowlist_version: int | None
    allowlist_key: str | None
    allowlist_entries: int
    problem: str | None


class ParamShown(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str
    default: str
    help: str


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded package before the user confirms."""

    plugin_id: str
    version: str
    label: str
    description: str
    entry: tuple[str, ...]
    params: tuple[ParamShown, ...]
    capabilities: tuple[str, ...]
    package_hash: str
    trust: Trust
    installed: tuple[str, ...]
    action: Action | None
    refusal_code: str | None
    refusal: str | None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def trust_of(item: Mapping[str, Any]) -> Trust:
    """An answer's trust fields (``trust``, ``trust_code``, ``trust_reason``, ``publisher``,
    ``claimed_signer``); anything unknown or missing is ``refused``, never verified."""
    state = item.get("trust")
    known = state in TRUST_STATES
    return Trust(
        state=state if isinstance(state, str) and known else "refused",
        signer=_opt(item.get("publisher")),
        claimed_signer=_opt(item.get("claimed_signer")),
        reason=_opt(item.get("trust_reason"))
        or (None if known else "Operations gave no trust decision"),
        code=_opt(item.get("trust_code")),
    )


def _newer_first(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    return compare_versions(str(b["version"]), str(a["version"]))


def _sorted_versions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Highest version first (semver precedence; malformed versions last)."""
    good = [i for i in items if is_version(_text(i.get("version")))]
    bad = [i for i in items if not is_version(_text(i.get("version")))]
    ranked = sorted(good, key=cmp_to_key(_newer_first))
    return ranked + bad


def _instances(raw: Any) -> tuple[InstanceRef, ...]:
    refs = []
    for item in _dicts(raw):
        instance_id = _text(item.get("instance_id"))
        if instance_id:
            refs.append(
                InstanceRef(
                    instance_id=instance_id,
                    instance_label=_text(item.get("instance_label")) or instance_id,
                    state=_text(item.get("state")),
                    version=_text(item.get("version")),
                )
            )
    return tuple(refs)


def installed_rows(packages: Sequence[Mapping[str, Any]]) -> list[PackageRow]:
    """One row per installed plugin (sorted by id), its versions highest first."""
    by_plugin: dict[str, list[dict[str, Any]]] = {}
    for item in packages:
        plugin_id = _text(item.get("plugin_id"))
        if plugin_id:
            by_plugin.setdefault(plugin_id, []).append(dict(item))
    rows: list[PackageRow] = []
    for plugin_id in sorted(by_plugin):
        ordered = _sorted_versions(by_plugin[plugin_id])
        flagged = [i for i in ordered if i.get("current") is True]
        top = flagged[0] if flagged else ordered[0]
        versions = tuple(
            InstalledVersion(
                version=_text(i.get("version")),
                package_hash=_text(i.get("package_hash")),
                trust=trust_of(i),
                current=i is top,
            )
            for i in ordered
        )
        rows.append(
            PackageRow(
                plugin_id=plugin_id,
                label=_text(top.get("label")) or plugin_id,
                description=_text(top.get("description")),
                version=_text(top.get("version")),
                package_hash=_text(top.get("package_hash")),
                trust=trust_of(top),
                capabilities=_strings(top.get("capabilities")),
                entry=_strings(top.get("entry")),
                versions=versions,
                instances=_instances(top.get("instances")),
            )
        )
    return rows


def policy_of(raw: Mapping[str, Any]) -> Policy:
    """``get_trust_policy``'s answer as shown."""
    allowlist = raw.get("allowlist")
    allow = allowlist if isinstance(allowlist, Mapping) else {}
    version = allow.get("version")
    mode = _text(raw.get("mode")) or "release"
    return Policy(
        mode=mode,
        developer_mode=raw.get("developer_mode") is True or mode == "developer",
        trusted_keys=tuple(
            _text(k.get("key_id")) for k in _dicts(raw.get("trusted_keys")) if k.get("key_id")
        ),
        allowlist_version=version if isinstance(version, int) else None,
        allowlist_key=_opt(allow.get("key_id")),
        allowlist_entries=len(_dicts(allow.get("entries"))),
        problem=_opt(raw.get("allowlist_problem")),
    )


def _param(raw: Mapping[str, Any]) -> ParamShown:
    default = raw.get("default")
    return ParamShown(
        name=_text(raw.get("name")),
        type=_text(raw.get("type")),
        default="" if default is None else str(default),
        help=_text(raw.get("help")),
    )


def review_of(inspection: Mapping[str, Any]) -> Review:
    """An ``inspect_package`` answer as shown, with the action Operations offers."""
    plugin_id = _text(inspection.get("plugin_id"))
    trust = trust_of(inspection)
    action = inspection.get("action")
    refusal = inspection.get("refusal")
    refused = refusal if isinstance(refusal, Mapping) else {}
    payload_error = inspection.get("payload_error")
    if inspection.get("payload_ok") is False and not refused:
        problem = payload_error if isinstance(payload_error, Mapping) else {}
        refused = {"code": problem.get("code"), "message": problem.get("message")}
    offered = action if action in ACTIONS and not refused else None
    if offered is None and not refused:
        refused = {"message": trust.reason or "Operations offers no way to install it"}
    return Review(
        plugin_id=plugin_id,
        version=_text(inspection.get("version")),
        label=_text(inspection.get("label")) or plugin_id,
        description=_text(inspection.get("description")),
        entry=_strings(inspection.get("entry")),
        params=tuple(_param(p) for p in _dicts(inspection.get("params"))),
        capabilities=_strings(inspection.get("capabilities")),
        package_hash=_text(inspection.get("package_hash")),
        trust=trust,
        installed=_strings(inspection.get("installed_versions")),
        action=offered,
        refusal_code=_opt(refused.get("code")),
        refusal=_opt(refused.get("message")) if offered is None else None,
    )


__all__ = [
    "ACTIONS",
    "Action",
    "InstalledVersion",
    "InstanceRef",
    "PackageRow",
    "ParamShown",
    "Policy",
    "Review",
    "Trust",
    "installed_rows",
    "policy_of",
    "review_of",
    "trust_of",
]
