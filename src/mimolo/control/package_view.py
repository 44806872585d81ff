"""What the Packages view shows, from Operations' answers (pure).

``installed_rows`` joins ``list_installed_packages`` with the configured instances (who
uses which plugin); ``policy_of`` reads ``get_trust_policy``; ``review_of`` turns an
``inspect_package`` answer into what the user sees before confirming, and ``choose_action``
decides the one offer: install (a new plugin), upgrade (a higher version than installed),
force reinstall (only the identical package), or nothing, with the reason.
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

    @property
    def publisher(self) -> str | None:
        """The verified signer, else the key the signature claims (shown as claimed)."""
        return self.signer or self.claimed_signer


class InstanceRef(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    instance_label: str


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
    why_not: str | None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def trust_of(raw: Any) -> Trust:
    """A ``trust`` object from Operations (unknown or missing: ``refused``, never verified)."""
    if not isinstance(raw, Mapping):
        return Trust(state="refused", reason="Operations gave no trust decision")
    state = raw.get("state")
    return Trust(
        state=state if state in TRUST_STATES else "refused",
        signer=_opt(raw.get("signer")),
        claimed_signer=_opt(raw.get("claimed_signer")),
        reason=_opt(raw.get("reason")),
        code=_opt(raw.get("code")),
    )


def _manifest(item: Mapping[str, Any]) -> Mapping[str, Any]:
    manifest = item.get("manifest")
    return manifest if isinstance(manifest, Mapping) else item


def _newer_first(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    return compare_versions(str(b["version"]), str(a["version"]))


def _sorted_versions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Highest version first (semver precedence; malformed versions last)."""
    good = [i for i in items if is_version(_text(i.get("version")))]
    bad = [i for i in items if not is_version(_text(i.get("version")))]
    ranked = sorted(good, key=cmp_to_key(_newer_first))
    return ranked + bad


def users_of(instances: Sequence[Mapping[str, Any]]) -> dict[str, list[InstanceRef]]:
    """Configured instances by the plugin (template) they run."""
    out: dict[str, list[InstanceRef]] = {}
    for item in instances:
        plugin = _text(item.get("plugin_id")) or _text(item.get("template"))
        instance_id = _text(item.get("instance_id"))
        if plugin and instance_id:
            label = _text(item.get("instance_label")) or _text(item.get("label")) or instance_id
            out.setdefault(plugin, []).append(
                InstanceRef(instance_id=instance_id, instance_label=label)
            )
    return out


def installed_rows(
    packages: Sequence[Mapping[str, Any]], instances: Sequence[Mapping[str, Any]]
) -> list[PackageRow]:
    """One row per installed plugin (sorted by id), its versions highest first."""
    by_plugin: dict[str, list[dict[str, Any]]] = {}
    for item in packages:
        plugin_id = _text(item.get("plugin_id"))
        if plugin_id:
            by_plugin.setdefault(plugin_id, []).append(dict(item))
    users = users_of(instances)
    rows: list[PackageRow] = []
    for plugin_id in sorted(by_plugin):
        ordered = _sorted_versions(by_plugin[plugin_id])
        flagged = [i for i in ordered if i.get("current") is True]
        top = flagged[0] if flagged else ordered[0]
        manifest = _manifest(top)
        versions = tuple(
            InstalledVersion(
                version=_text(i.get("version")),
                package_hash=_text(i.get("package_hash")),
                trust=trust_of(i.get("trust")),
                current=i is top,
            )
            for i in ordered
        )
        rows.append(
            PackageRow(
                plugin_id=plugin_id,
                label=_text(manifest.get("label")) or _text(top.get("label")) or plugin_id,
                description=_text(manifest.get("description")),
                version=_text(top.get("version")),
                package_hash=_text(top.get("package_hash")),
                trust=trust_of(top.get("trust")),
                capabilities=_strings(manifest.get("capabilities")),
                entry=_strings(manifest.get("entry")),
                versions=versions,
                instances=tuple(users.get(plugin_id, ())),
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


def choose_action(
    version: str, package_hash: str, trust: Trust, installed: Sequence[Mapping[str, Any]]
) -> tuple[Action | None, str | None]:
    """The one thing the user may do with an inspected package, or why nothing."""
    if trust.state == "refused":
        return None, trust.reason or "this data root's trust policy refuses the package"
    same = [i for i in installed if i.get("version") == version]
    if same:
        if any(i.get("package_hash") == package_hash for i in same):
            return "reinstall", None
        return None, (
            f"version {version} is already installed with different contents "
            "(a new build needs a new version)"
        )
    if not installed:
        return "install", None
    highest = _text(_sorted_versions([dict(i) for i in installed])[0].get("version"))
    if is_version(version) and is_version(highest) and compare_versions(version, highest) > 0:
        return "upgrade", None
    return None, f"version {version} is not newer than the installed {highest} (no downgrades)"


def _param(raw: Mapping[str, Any]) -> ParamShown:
    default = raw.get("default")
    return ParamShown(
        name=_text(raw.get("name")),
        type=_text(raw.get("type")),
        default="" if default is None else str(default),
        help=_text(raw.get("help")),
    )


def review_of(inspection: Mapping[str, Any], installed: Sequence[Mapping[str, Any]]) -> Review:
    """An ``inspect_package`` answer and this plugin's installed versions, as shown."""
    manifest = _manifest(inspection)
    plugin_id = _text(manifest.get("plugin_id"))
    version = _text(manifest.get("version"))
    package_hash = _text(inspection.get("package_hash"))
    trust = trust_of(inspection.get("trust"))
    mine = [i for i in installed if i.get("plugin_id") == plugin_id]
    action, why_not = choose_action(version, package_hash, trust, mine)
    return Review(
        plugin_id=plugin_id,
        version=version,
        label=_text(manifest.get("label")) or plugin_id,
        description=_text(manifest.get("description")),
        entry=_strings(manifest.get("entry")),
        params=tuple(_param(p) for p in _dicts(manifest.get("params"))),
        capabilities=_strings(manifest.get("capabilities")),
        package_hash=package_hash,
        trust=trust,
        installed=tuple(_text(i.get("version")) for i in _sorted_versions([dict(i) for i in mine])),
        action=action,
        why_not=why_not,
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
    "choose_action",
    "installed_rows",
    "policy_of",
    "review_of",
    "trust_of",
    "users_of",
]
