"""The allowlist and the trust decision: release refuses with one code per failure,
developer mode says why it is UNVERIFIED, rollbacks are refused; semver ordering."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from mimolo.errors import (
    AllowlistHashMismatch,
    AllowlistInvalid,
    AllowlistRollback,
    KeyUntrusted,
    NotAllowlisted,
    PackageRollback,
    SignatureInvalid,
    SignatureMissing,
    TrustError,
)
from mimolo.packages import build_package, read_package, sign_package
from mimolo.packages.allowlist import (
    AllowlistEntry,
    decode_allowlist,
    sign_allowlist,
    verify_allowlist,
)
from mimolo.packages.policy import TrustPolicy, accept_allowlist, check_package
from mimolo.packages.signing import RawPackage, generate_key, key_id, public_raw
from mimolo.packages.versions import compare_versions, parse_version, range_accepts

from ._pkgs import make_source


def keys(*private: Ed25519PrivateKey) -> dict[str, bytes]:
    return {key_id(public_raw(k)): public_raw(k) for k in private}


def package(tmp_path: Path, key: Ed25519PrivateKey | None, version: str = "1.0.0") -> RawPackage:
    built = build_package(make_source(tmp_path, version=version), tmp_path / f"{version}.zip")
    return sign_package(built.path, key) if key else read_package(built.path)


def allowing(raw: RawPackage, key: Ed25519PrivateKey, version: int = 1, digest: str | None = None):  # type: ignore[no-untyped-def]
    m = raw.manifest
    entry = AllowlistEntry(m.plugin_id, m.version, digest or raw.package_hash)
    return sign_allowlist(version, [entry], key)


def test_release_mode_accepts_a_signed_allowlisted_package(tmp_path: Path) -> None:
    key = generate_key()
    raw = package(tmp_path, key)
    policy = TrustPolicy(trusted_keys=keys(key), allowlist=allowing(raw, key))
    decision = check_package(raw, policy, for_launch=False)
    assert (decision.trusted, decision.verified, decision.reasons) == (True, True, [])
    assert decision.signer == key_id(public_raw(key))


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unsigned", SignatureMissing),
        ("untrusted", KeyUntrusted),
        ("no_allowlist", NotAllowlisted),
        ("other_version_listed", NotAllowlisted),
        ("other_hash", AllowlistHashMismatch),
    ],
)
def test_release_refuses_and_developer_says_why(
    tmp_path: Path, case: str, error: type[TrustError]
) -> None:
    key, stranger = generate_key(), generate_key()
    raw = package(
        tmp_path, None if case == "unsigned" else (stranger if case == "untrusted" else key)
    )
    allowlist = {
        "no_allowlist": None,
        "other_version_listed": sign_allowlist(
            1, [AllowlistEntry("hello_sh", "2.0.0", "ab" * 32)], key
        ),
        "other_hash": allowing(raw, key, digest="cd" * 32),
    }.get(case, allowing(raw, key))
    policy = TrustPolicy(trusted_keys=keys(key), allowlist=allowlist)
    with pytest.raises(error) as caught:
        check_package(raw, policy, for_launch=True)
    code = caught.value.code
    developer = msgspec.structs.replace(policy, mode="developer")
    decision = check_package(raw, developer, for_launch=True)
    assert decision.trusted and not decision.verified
    assert code in decision.codes and decision.reasons


def test_a_tampered_manifest_is_signature_invalid(tmp_path: Path) -> None:
    key = generate_key()
    raw = package(tmp_path, key)
    changed = msgspec.structs.replace(raw.manifest, entry=["sh", "lib/helper"])
    tampered = RawPackage(changed, raw.manifest_bytes, raw.signature)
    policy = TrustPolicy(trusted_keys=keys(key), allowlist=allowing(raw, key))
    with pytest.raises(SignatureInvalid):
        check_package(tampered, policy, for_launch=True)


def test_package_rollback_at_install_not_at_launch(tmp_path: Path) -> None:
    key = generate_key()
    raw = package(tmp_path, key, "1.2.0")
    policy = TrustPolicy(
        trusted_keys=keys(key), allowlist=allowing(raw, key), highest_seen={"hello_sh": "1.10.0"}
    )
    for mode in ("release", "developer"):
        with pytest.raises(PackageRollback) as caught:
            check_package(raw, msgspec.structs.replace(policy, mode=mode), for_launch=False)
        assert caught.value.code == "package_rollback"
    assert check_package(raw, policy, for_launch=True).verified
    same = msgspec.structs.replace(policy, highest_seen={"hello_sh": "1.2.0"})
    assert check_package(raw, same, for_launch=False).verified  # a reinstall is no rollback


def test_allowlist_rollback_and_replay(tmp_path: Path) -> None:
    key = generate_key()
    policy = TrustPolicy(trusted_keys=keys(key))
    v2 = sign_allowlist(2, [], key)
    policy = accept_allowlist(policy, v2)
    assert policy.highest_allowlist_version == 2
    for stale in (sign_allowlist(1, [], key), v2):
        with pytest.raises(AllowlistRollback) as caught:
            accept_allowlist(policy, stale)
        assert caught.value.code == "allowlist_rollback"
    assert accept_allowlist(policy, sign_allowlist(3, [], key)).highest_allowlist_version == 3


def test_allowlist_signatures_and_shapes() -> None:
    key, stranger = generate_key(), generate_key()
    doc = sign_allowlist(
        1, [AllowlistEntry("b", "1.0.0", "ab" * 32), AllowlistEntry("a", "1.0.0", "cd" * 32)], key
    )
    assert [e.plugin_id for e in doc.entries] == ["a", "b"]  # canonical order
    assert verify_allowlist(doc.to_dict(), keys(key)) == doc
    with pytest.raises(KeyUntrusted):
        verify_allowlist(doc, keys(stranger))
    forged = msgspec.structs.replace(doc, entries=doc.entries[:1])
    with pytest.raises(SignatureInvalid):
        verify_allowlist(forged, keys(key))
    bad_docs: list[bytes | dict[str, Any]] = [
        b"nope",
        {**doc.to_dict(), "version": 0},
        {**doc.to_dict(), "extra": 1},
        {**doc.to_dict(), "key_id": "x"},
        {
            **doc.to_dict(),
            "entries": [{"plugin_id": "A", "version": "1.0.0", "package_hash": "ab" * 32}],
        },
        {**doc.to_dict(), "entries": list(reversed(doc.to_dict()["entries"]))},
    ]
    for bad in bad_docs:
        with pytest.raises(AllowlistInvalid):
            decode_allowlist(bad)
    with pytest.raises(AllowlistInvalid, match="twice"):
        sign_allowlist(1, [AllowlistEntry("a", "1.0.0", "ab" * 32)] * 2, key)
    assert all(issubclass(e, TrustError) for e in (AllowlistInvalid, AllowlistRollback))


SEMVER_ORDER = [
    "0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0",
]  # fmt: skip


def test_semver_precedence_of_the_spec() -> None:
    for low, high in itertools.pairwise(SEMVER_ORDER):
        assert compare_versions(low, high) == -1, (low, high)
        assert compare_versions(high, low) == 1
    assert compare_versions("1.0.0+build.1", "1.0.0+build.2") == 0
    for bad in ("1", "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "v1.0.0", "1.0.0 "):
        with pytest.raises(ValueError):
            parse_version(bad)


def test_protocol_ranges() -> None:
    assert range_accepts(">=0.3,<0.5", "0.3") and range_accepts(">=0.3,<0.5", "0.4.9")
    assert not range_accepts(">=0.3,<0.5", "0.5") and not range_accepts(">=0.3,<0.5", "0.2")
    assert range_accepts("==0.4", "0.4.0") and not range_accepts("!=0.4", "0.4")


_idents = st.one_of(st.integers(0, 50).map(str), st.sampled_from(["alpha", "beta", "rc", "x-1"]))
_versions = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{'.'.join(pre)}" if pre else ""),
    st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.lists(_idents, max_size=3),
)  # fmt: skip


@given(_versions, _versions, _versions)
def test_version_order_is_a_total_order(a: str, b: str, c: str) -> None:
    assert compare_versions(a, a) == 0
    assert compare_versions(a, b) == -compare_versions(b, a)
    if compare_versions(a, b) <= 0 and compare_versions(b, c) <= 0:
        assert compare_versions(a, c) <= 0


@given(_versions)
def test_a_release_outranks_its_prereleases(version: str) -> None:
    release = version.split("-", 1)[0]
    if "-" in version:
        assert compare_versions(version, release) == -1
