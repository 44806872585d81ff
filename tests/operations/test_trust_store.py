"""``trust/`` on disk: high-water marks that only grow and survive a new store, a damaged
state that fails closed, an allowlist that stops being in force with its key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import AllowlistRollback, KeyInvalid, KeyUntrusted, TrustError, UnknownKey
from mimolo.operations.trust_store import TrustStore
from mimolo.packages.allowlist import AllowlistEntry, sign_allowlist
from mimolo.packages.signing import generate_key, key_id, public_pem, public_raw


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    return TrustStore(DataRoot.resolve(tmp_path / "root").ensure())


def test_keys_and_allowlist_round_trip_with_owner_only_files(store: TrustStore) -> None:
    key = generate_key()
    kid, added = store.trust_key(public_pem(public_raw(key)).decode())
    assert (kid, added) == (key_id(public_raw(key)), True)
    assert store.trust_key(public_pem(public_raw(key)))[1] is False
    entry = AllowlistEntry("hello_sh", "1.0.0", "ab" * 32)
    store.set_allowlist(sign_allowlist(1, [entry], key).to_dict())
    policy = TrustStore(store.data_root).policy("developer")  # a fresh store reads the files
    assert policy.mode == "developer" and policy.allowlist is not None
    assert policy.allowlist.entry_for("hello_sh", "1.0.0") == entry
    for path in (store.keys_dir / f"{kid}.pub", store.allowlist_path, store.state_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.keys_dir.stat().st_mode) == 0o700


def test_allowlist_versions_only_grow_across_stores(store: TrustStore) -> None:
    key = generate_key()
    store.trust_key(public_pem(public_raw(key)))
    store.set_allowlist(sign_allowlist(5, [], key))
    with pytest.raises(AllowlistRollback):
        TrustStore(store.data_root).set_allowlist(sign_allowlist(4, [], key))
    store.allowlist_path.unlink()  # losing the allowlist does not lower the mark
    with pytest.raises(AllowlistRollback):
        store.set_allowlist(sign_allowlist(5, [], key))
    assert store.set_allowlist(sign_allowlist(6, [], key)).version == 6


def test_untrusting_the_signer_takes_the_allowlist_out_of_force(store: TrustStore) -> None:
    key, stranger = generate_key(), generate_key()
    kid, _ = store.trust_key(public_pem(public_raw(key)))
    with pytest.raises(KeyUntrusted):
        store.set_allowlist(sign_allowlist(1, [], stranger))
    store.set_allowlist(sign_allowlist(1, [], key))
    store.untrust_key(kid)
    assert store.policy().allowlist is None
    assert (store.allowlist_problem() or "").startswith("key_untrusted")
    with pytest.raises(UnknownKey):
        store.untrust_key(kid)
    with pytest.raises(UnknownKey):
        store.untrust_key("../../etc/passwd")


def test_highest_seen_only_rises(store: TrustStore) -> None:
    assert store.note_installed("hello_sh", "1.2.0")
    assert not store.note_installed("hello_sh", "1.1.9")
    assert not store.note_installed("hello_sh", "1.2.0")
    assert store.note_installed("hello_sh", "1.10.0")
    assert store.policy().highest_seen == {"hello_sh": "1.10.0"}
    with pytest.raises(TrustError):
        store.note_installed("hello_sh", "one")


def test_a_damaged_state_fails_closed_and_bad_key_files_are_skipped(store: TrustStore) -> None:
    store.note_installed("hello_sh", "1.0.0")
    store.state_path.write_text("{broken")
    with pytest.raises(TrustError, match="damaged"):
        store.policy()
    with pytest.raises(TrustError):
        store.note_installed("hello_sh", "0.1.0")
    store.state_path.unlink()
    store.keys_dir.mkdir(parents=True, exist_ok=True)
    (store.keys_dir / "0123456789abcdef.pub").write_text("not a key")
    key = generate_key()
    (store.keys_dir / "fedcba9876543210.pub").write_bytes(public_pem(public_raw(key)))  # misnamed
    assert store.trusted_keys() == {}
    with pytest.raises(KeyInvalid):
        store.trust_key("-----BEGIN PRIVATE KEY-----\n")
