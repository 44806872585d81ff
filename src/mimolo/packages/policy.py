"""The trust decision for one package (pure): release mode refuses anything not signed by
a trusted key and named in the allowlist with this exact hash; developer mode runs it but
says UNVERIFIED and why. A version below the highest seen for its plugin is refused at
install in both modes (TUF's rollback rule); an allowlist never goes backwards."""

from __future__ import annotations

from typing import Literal

import msgspec

from mimolo.errors import (
    AllowlistHashMismatch,
    AllowlistRollback,
    NotAllowlisted,
    PackageRollback,
    TrustError,
)
from mimolo.packages.allowlist import Allowlist, verify_allowlist
from mimolo.packages.signing import RawPackage, signer_of, verify_signature
from mimolo.packages.versions import compare_versions

TrustMode = Literal["release", "developer"]


class TrustPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision is made against: the mode, the trusted keys (key id -> raw public
    key), the verified allowlist in force, and the highest versions seen."""

    mode: TrustMode = "release"
    trusted_keys: dict[str, bytes] = {}
    allowlist: Allowlist | None = None
    highest_allowlist_version: int = 0
    highest_seen: dict[str, str] = {}


class TrustDecision(msgspec.Struct, frozen=True, kw_only=True):
    """``trusted``: may install / launch; ``verified``: signed by a trusted key and
    allowlisted with this hash; ``signer`` the verified key id, ``claimed_signer`` the one
    ``manifest.sig`` names (unverified, for display); ``reasons`` and ``codes`` say why not."""

    trusted: bool
    verified: bool
    signer: str | None
    package_hash: str
    claimed_signer: str | None = None
    reasons: list[str] = []
    codes: list[str] = []


def _check_rollback(raw: RawPackage, policy: TrustPolicy) -> None:
    manifest = raw.manifest
    highest = policy.highest_seen.get(manifest.plugin_id)
    if highest is not None and compare_versions(manifest.version, highest) < 0:
        raise PackageRollback(
            f"{manifest.plugin_id} {manifest.version} is older than {highest}, the highest "
            "version this data root has seen (downgrades are refused)"
        )


def _check_allowlist(raw: RawPackage, allowlist: Allowlist | None) -> None:
    manifest = raw.manifest
    what = f"{manifest.plugin_id} {manifest.version}"
    if allowlist is None:
        raise NotAllowlisted(f"{what}: there is no allowlist (mimolo trust allow PKG --key K)")
    entry = allowlist.entry_for(manifest.plugin_id, manifest.version)
    if entry is None:
        raise NotAllowlisted(f"{what} is not in the allowlist (version {allowlist.version})")
    if entry.package_hash != raw.package_hash:
        raise AllowlistHashMismatch(
            f"{what}: the allowlist names package hash {entry.package_hash[:16]}…, this "
            f"package's is {raw.package_hash[:16]}… (a different build of the same version)"
        )


def check_package(raw: RawPackage, policy: TrustPolicy, *, for_launch: bool) -> TrustDecision:
    """Decide on ``raw``. Release mode raises the first failure (``signature_missing``,
    ``signature_invalid``, ``key_untrusted``, ``not_allowlisted``,
    ``allowlist_hash_mismatch``); developer mode returns ``verified=False`` with every
    reason. ``package_rollback`` is checked at install only (``for_launch`` False): an
    older version may still run while its instances move to the newer one."""
    if not for_launch:
        _check_rollback(raw, policy)
    signer: str | None = None
    problems: list[TrustError] = []
    try:
        signer = verify_signature(raw, policy.trusted_keys)
    except TrustError as exc:
        problems.append(exc)
    try:
        _check_allowlist(raw, policy.allowlist)
    except TrustError as exc:
        problems.append(exc)
    if problems and policy.mode == "release":
        raise problems[0]
    return TrustDecision(
        trusted=True,
        verified=not problems,
        signer=signer,
        package_hash=raw.package_hash,
        claimed_signer=signer_of(raw),
        reasons=[p.message for p in problems],
        codes=[p.code for p in problems],
    )


def accept_allowlist(policy: TrustPolicy, new: Allowlist) -> TrustPolicy:
    """``policy`` with ``new`` in force, once it verifies against the trusted keys and its
    version is above the highest accepted (else ``allowlist_rollback``)."""
    verified = verify_allowlist(new, policy.trusted_keys)
    if verified.version <= policy.highest_allowlist_version:
        raise AllowlistRollback(
            f"allowlist version {verified.version} is not above {policy.highest_allowlist_version}"
            ", the highest this data root has accepted"
        )
    return msgspec.structs.replace(
        policy, allowlist=verified, highest_allowlist_version=verified.version
    )


__all__ = ["TrustDecision", "TrustMode", "TrustPolicy", "accept_allowlist", "check_package"]
