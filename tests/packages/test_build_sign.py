"""The packer and the signer: deterministic bytes, computed files, signatures that verify
and every way they do not, key files that only their owner can read."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from mimolo.errors import (
    ArchiveHashMismatch,
    ArchiveUnexpectedEntry,
    KeyInvalid,
    KeyUntrusted,
    ManifestInvalid,
    PackageError,
    PackageUnreadable,
    SignatureInvalid,
    SignatureMissing,
)
from mimolo.packages import build_package, read_package, sign_package, verify_signature
from mimolo.packages.keyfiles import read_private_key, write_key_pair
from mimolo.packages.manifest import canonical_manifest_bytes
from mimolo.packages.payload import check_payload
from mimolo.packages.signing import generate_key, key_id, public_raw

from ._pkgs import make_source


def trusted(*keys: object) -> dict[str, bytes]:
    return {key_id(public_raw(k)): public_raw(k) for k in keys}  # type: ignore[arg-type]


def rewrite(pkg: Path, out: Path, changes: dict[str, bytes | None]) -> None:
    """Copy ``pkg`` with some entries replaced (bytes), dropped (None) or added."""
    with zipfile.ZipFile(pkg) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in changes:
                data = changes[info.filename]
                if data is not None:
                    dst.writestr(info, data)
            else:
                dst.writestr(info, src.read(info))
        for name, data in changes.items():
            if name not in src.namelist() and data is not None:
                dst.writestr(name, data)


def test_the_same_tree_gives_the_same_bytes(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    a = build_package(src, tmp_path / "a.zip")
    os.utime(src / "agent.sh", (1, 1))  # times never matter
    b = build_package(src, tmp_path / "b.zip")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.package_hash == b.package_hash


def test_different_trees_differ(tmp_path: Path) -> None:
    a = build_package(make_source(tmp_path / "a"), tmp_path / "a.zip")
    b = build_package(make_source(tmp_path / "b", body="echo other\n"), tmp_path / "b.zip")
    assert a.path.read_bytes() != b.path.read_bytes()
    assert a.package_hash != b.package_hash


def test_the_layout_times_modes_and_computed_files(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"junk")
    built = build_package(src, src / "out.zip")  # the output inside the tree is not packed
    with zipfile.ZipFile(built.path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == ["hello_sh/manifest.json", "hello_sh/agent.sh", "hello_sh/lib/helper"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
    assert modes["hello_sh/lib/helper"] == 0o755 and modes["hello_sh/agent.sh"] == 0o644
    files = built.manifest.files
    assert set(files) == {"agent.sh", "lib/helper"}
    assert files["lib/helper"].executable and not files["agent.sh"].executable
    assert files["agent.sh"].bytes == len(b"echo hello\n")
    assert built.manifest.params[0].name == "interval_s"


def test_symlinks_and_a_missing_source_file_are_refused(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (src / "link").symlink_to("/etc/passwd")
    with pytest.raises(PackageError, match="plain files"):
        build_package(src, tmp_path / "x.zip")
    (src / "link").unlink()
    (src / "mimolo-package.toml").unlink()
    with pytest.raises(PackageError, match=r"mimolo-package\.toml"):
        build_package(src, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_a_bad_source_manifest_leaves_no_file(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    toml = (src / "mimolo-package.toml").read_text().replace('["sh", "agent.sh"]', '["sh", "../x"]')
    (src / "mimolo-package.toml").write_text(toml)
    with pytest.raises(ManifestInvalid) as caught:
        build_package(src, tmp_path / "x.zip")
    assert caught.value.field == "entry[1]"
    assert list(tmp_path.glob("*.zip*")) == []


def test_sign_and_verify_round_trip_deterministically(tmp_path: Path) -> None:
    key = generate_key()
    built = build_package(make_source(tmp_path), tmp_path / "p.zip")
    sign_package(built.path, key, tmp_path / "s1.zip")
    sign_package(built.path, key, tmp_path / "s2.zip")
    assert (tmp_path / "s1.zip").read_bytes() == (tmp_path / "s2.zip").read_bytes()
    raw = read_package(tmp_path / "s1.zip")
    assert verify_signature(raw, trusted(key)) == key_id(public_raw(key))
    assert raw.package_hash == built.package_hash  # signing does not change the hash
    check_payload(tmp_path / "s1.zip", raw)
    sign_package(tmp_path / "s1.zip", generate_key())  # re-signing replaces the signature
    with zipfile.ZipFile(tmp_path / "s1.zip") as zf:
        assert zf.namelist().count("hello_sh/manifest.sig") == 1


def test_unsigned_untrusted_bad_and_tampered(tmp_path: Path) -> None:
    key, stranger = generate_key(), generate_key()
    built = build_package(make_source(tmp_path), tmp_path / "p.zip")
    with pytest.raises(SignatureMissing) as missing:
        verify_signature(read_package(built.path), trusted(key))
    assert missing.value.code == "signature_missing"
    signed = sign_package(built.path, key, tmp_path / "s.zip")
    with pytest.raises(KeyUntrusted) as untrusted:
        verify_signature(signed, trusted(stranger))
    assert untrusted.value.code == "key_untrusted"
    sig = "hello_sh/manifest.sig"
    rewrite(tmp_path / "s.zip", tmp_path / "garbage.zip", {sig: b"{not json"})
    with pytest.raises(SignatureInvalid):
        verify_signature(read_package(tmp_path / "garbage.zip"), trusted(key))
    # a tampered manifest: same signature, the entry now runs another file
    tampered = read_package(tmp_path / "s.zip").manifest_bytes.replace(
        b'"agent.sh"]', b'"lib/helper"]'
    )
    rewrite(tmp_path / "s.zip", tmp_path / "tampered.zip", {"hello_sh/manifest.json": tampered})
    raw = read_package(tmp_path / "tampered.zip")
    assert raw.manifest.entry == ["sh", "lib/helper"]
    with pytest.raises(SignatureInvalid) as bad:
        verify_signature(raw, trusted(key))
    assert bad.value.code == "signature_invalid"
    # another key's signature under the right key id
    forged = tmp_path / "s.zip"
    other = sign_package(forged, stranger, tmp_path / "other.zip").signature
    assert other is not None
    doc = other.replace(key_id(public_raw(stranger)).encode(), key_id(public_raw(key)).encode())
    rewrite(forged, tmp_path / "forged.zip", {sig: doc})
    with pytest.raises(SignatureInvalid):
        verify_signature(read_package(tmp_path / "forged.zip"), trusted(key))


def test_a_changed_extra_or_missing_payload_file_is_found(tmp_path: Path) -> None:
    signed = tmp_path / "s.zip"
    built = build_package(make_source(tmp_path), tmp_path / "p.zip")
    sign_package(built.path, generate_key(), signed)
    cases: list[tuple[dict[str, bytes | None], type[Exception]]] = [
        ({"hello_sh/agent.sh": b"echo evil\n"}, ArchiveHashMismatch),
        ({"hello_sh/lib/helper": None}, ArchiveHashMismatch),
        ({"hello_sh/extra.sh": b"x"}, ArchiveUnexpectedEntry),
    ]
    for changes, error in cases:
        out = tmp_path / "case.zip"
        rewrite(signed, out, changes)
        with pytest.raises(error):
            check_payload(out, read_package(out))


@pytest.mark.parametrize(
    ("names", "what"),
    [
        ({"a/manifest.json": b"{}", "b/x": b""}, "one folder"),
        ({"x": b""}, "one folder"),
        ({"a/manifest.json": b"x" * (1024 * 1024 + 1)}, "over"),
    ],
)
def test_unreadable_packages(tmp_path: Path, names: dict[str, bytes], what: str) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    with pytest.raises(PackageUnreadable, match=what):
        read_package(path)


def test_not_a_zip_and_a_folder_that_is_not_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 nothing")
    with pytest.raises(PackageUnreadable):
        read_package(tmp_path / "x.zip")
    built = build_package(make_source(tmp_path), tmp_path / "p.zip")
    with zipfile.ZipFile(built.path) as src, zipfile.ZipFile(tmp_path / "r.zip", "w") as dst:
        for info in src.infolist():
            dst.writestr("other/" + info.filename.split("/", 1)[1], src.read(info))
    with pytest.raises(ManifestInvalid) as caught:
        read_package(tmp_path / "r.zip")
    assert caught.value.field == "plugin_id"


def test_key_files_are_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    key = generate_key()
    private, public = write_key_pair(key, tmp_path / "keys" / "me")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    assert public.name == "me.pub"
    loaded = read_private_key(private)
    assert public_raw(loaded) == public_raw(key)
    with pytest.raises(KeyInvalid, match="never overwritten"):
        write_key_pair(generate_key(), private)
    os.chmod(private, 0o644)
    with pytest.raises(KeyInvalid, match="chmod 600"):
        read_private_key(private)
    os.chmod(private, 0o600)
    with pytest.raises(KeyInvalid):
        read_private_key(public)


def test_canonical_bytes_are_what_is_signed(tmp_path: Path) -> None:
    from mimolo.packages.signing import decode_signature, signature_valid

    key = generate_key()
    built = build_package(make_source(tmp_path), tmp_path / "p.zip")
    raw = sign_package(built.path, key)
    assert raw.signature is not None
    doc = decode_signature(raw.signature)
    assert signature_valid(public_raw(key), doc.signature, canonical_manifest_bytes(raw.manifest))
