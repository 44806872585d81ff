"""Artifact tokens: scoped, short-lived, and never a way out of an instance's subtree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mimolo.artifact_files import MAX_ARTIFACT_BYTES, read_verified, sniff_image, split_rel_path
from mimolo.dataroot import DataRoot, ensure_private_dir
from mimolo.errors import ArtifactError
from mimolo.operations.artifact_tokens import ArtifactTokenStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def artifacts_dir(root: DataRoot, plugin: str = "screen_tracker", inst: str = "screen-1") -> Path:
    return ensure_private_dir(root.instance_dir(plugin, inst) / "artifacts")


def put(root: DataRoot, rel: str, body: bytes = PNG, inst: str = "screen-1") -> Path:
    path = artifacts_dir(root, inst=inst) / rel
    ensure_private_dir(path.parent)
    path.write_bytes(body)
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(data_root: DataRoot, clock: FakeClock) -> ArtifactTokenStore:
    return ArtifactTokenStore(data_root, clock=clock, ttl_s=300.0, max_tokens=8)


def codes(exc: pytest.ExceptionInfo[ArtifactError]) -> str:
    return exc.value.code


def test_issue_and_resolve_round_trip(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    path = put(data_root, "shots/2026/a.png")
    grant = store.issue("screen_tracker", "screen-1", "shots/2026/a.png")
    assert len(grant.token) >= 30
    resolved = store.resolve(grant.token, instance_id="screen-1")
    assert resolved.path == str(path)
    assert resolved.mime == "image/png"
    assert resolved.bytes == len(PNG)
    assert read_verified(data_root, resolved) == PNG


def test_tokens_are_reused_while_fresh_and_renewed_later(
    data_root: DataRoot, store: ArtifactTokenStore, clock: FakeClock
) -> None:
    put(data_root, "a.png")
    first = store.issue("screen_tracker", "screen-1", "a.png")
    clock.now += 100
    assert store.issue("screen_tracker", "screen-1", "a.png").token == first.token
    clock.now += 100  # less than half the TTL left: a fresh token
    second = store.issue("screen_tracker", "screen-1", "a.png")
    assert second.token != first.token
    assert store.resolve(first.token).rel_path == "a.png"


def test_expired_token_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore, clock: FakeClock
) -> None:
    put(data_root, "a.png")
    grant = store.issue("screen_tracker", "screen-1", "a.png")
    clock.now += 299.9
    store.resolve(grant.token)
    clock.now += 0.1
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_token_expired"
    with pytest.raises(ArtifactError) as again:
        store.resolve(grant.token)
    assert codes(again) == "artifact_token_unknown"


def test_unknown_token_is_refused(store: ArtifactTokenStore) -> None:
    with pytest.raises(ArtifactError) as caught:
        store.resolve("not-a-token-that-was-ever-issued")
    assert codes(caught) == "artifact_token_unknown"


def test_token_for_another_instance_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore
) -> None:
    put(data_root, "a.png")
    put(data_root, "a.png", inst="screen-2")
    grant = store.issue("screen_tracker", "screen-1", "a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token, instance_id="screen-2")
    assert codes(caught) == "artifact_scope_mismatch"
    with pytest.raises(ArtifactError) as plugin:
        store.resolve(grant.token, plugin_id="other_plugin")
    assert codes(plugin) == "artifact_scope_mismatch"


@pytest.mark.parametrize(
    "rel",
    [
        "../screen-2/artifacts/a.png",
        "a/../../b.png",
        "/etc/passwd.png",
        "./a.png",
        "a//b.png",
        "a\\..\\b.png",
        "",
        "a\x00.png",
        "a\n.png",
        "x" * 600 + ".png",
    ],
)
def test_traversing_or_odd_paths_are_refused_at_issue(store: ArtifactTokenStore, rel: str) -> None:
    with pytest.raises(ArtifactError) as caught:
        store.issue("screen_tracker", "screen-1", rel)
    assert codes(caught) == "artifact_path_refused"


@pytest.mark.parametrize("rel", ["page.html", "pic.svg", "noext", "dir.png/x", "a.PNG.txt"])
def test_non_image_types_are_refused(store: ArtifactTokenStore, rel: str) -> None:
    with pytest.raises(ArtifactError) as caught:
        store.issue("screen_tracker", "screen-1", rel)
    assert codes(caught) == "artifact_path_refused"


def test_bad_ids_are_refused(store: ArtifactTokenStore) -> None:
    with pytest.raises(ArtifactError):
        store.issue("../x", "screen-1", "a.png")
    with pytest.raises(ArtifactError):
        store.issue("screen_tracker", "Screen 1", "a.png")


def test_missing_target_is_reported(store: ArtifactTokenStore) -> None:
    grant = store.issue("screen_tracker", "screen-1", "nope/a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_missing"


def test_symlinked_file_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    os.symlink(outside, artifacts_dir(data_root) / "a.png")
    grant = store.issue("screen_tracker", "screen-1", "a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_symlinked_directory_component_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.png").write_bytes(PNG)
    os.symlink(outside, artifacts_dir(data_root) / "shots")
    grant = store.issue("screen_tracker", "screen-1", "shots/a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_symlinked_artifacts_dir_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.png").write_bytes(PNG)
    inst = ensure_private_dir(data_root.instance_dir("screen_tracker", "screen-1"))
    os.symlink(outside, inst / "artifacts")
    grant = store.issue("screen_tracker", "screen-1", "a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_hard_linked_file_is_refused(
    data_root: DataRoot, store: ArtifactTokenStore, tmp_path: Path
) -> None:
    outside = data_root.root / "private.png"
    outside.write_bytes(PNG)
    os.link(outside, artifacts_dir(data_root) / "a.png")
    grant = store.issue("screen_tracker", "screen-1", "a.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_directory_target_is_refused(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    ensure_private_dir(artifacts_dir(data_root) / "d.png")
    grant = store.issue("screen_tracker", "screen-1", "d.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_oversized_artifact_is_refused(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    path = put(data_root, "big.png")
    with path.open("r+b") as handle:
        handle.truncate(MAX_ARTIFACT_BYTES + 1)
    grant = store.issue("screen_tracker", "screen-1", "big.png")
    with pytest.raises(ArtifactError) as caught:
        store.resolve(grant.token)
    assert codes(caught) == "artifact_path_refused"


def test_swapped_file_is_refused_on_read(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    path = put(data_root, "a.png")
    resolved = store.resolve(store.issue("screen_tracker", "screen-1", "a.png").token)
    path.rename(path.with_name("kept-aside.png"))  # keeps the old inode alive
    put(data_root, "a.png")
    with pytest.raises(ArtifactError) as caught:
        read_verified(data_root, resolved)
    assert codes(caught) == "artifact_path_refused"


def test_disguised_file_is_refused_on_read(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    put(data_root, "a.png", body=b"<script>alert(1)</script>")
    resolved = store.resolve(store.issue("screen_tracker", "screen-1", "a.png").token)
    with pytest.raises(ArtifactError) as caught:
        read_verified(data_root, resolved)
    assert codes(caught) == "artifact_path_refused"


def test_store_is_bounded_and_evicts_expired_first(
    data_root: DataRoot, store: ArtifactTokenStore, clock: FakeClock
) -> None:
    old = store.issue("screen_tracker", "screen-1", "old.png")
    clock.now += 301
    for index in range(20):
        store.issue("screen_tracker", "screen-1", f"{index}.png")
        assert len(store) <= 8
    with pytest.raises(ArtifactError) as caught:
        store.resolve(old.token)
    assert codes(caught) == "artifact_token_unknown"


def test_revoke_instance_drops_its_tokens(data_root: DataRoot, store: ArtifactTokenStore) -> None:
    a = store.issue("screen_tracker", "screen-1", "a.png")
    b = store.issue("screen_tracker", "screen-2", "a.png")
    assert store.revoke_instance("screen-1") == 1
    with pytest.raises(ArtifactError):
        store.resolve(a.token)
    put(data_root, "a.png", inst="screen-2")
    assert store.resolve(b.token).instance_id == "screen-2"


def test_split_and_sniff_helpers() -> None:
    assert split_rel_path("a/b/c.png") == ("a", "b", "c.png")
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_image(b"GIF89a") == "image/gif"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBP") == "image/webp"
    assert sniff_image(b"<svg") is None
