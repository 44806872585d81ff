"""safe_zip against a corpus of hostile zips: each refused with its own code, nothing written."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mimolo.errors import UnsafeArchiveError
from mimolo.safe_zip import ZipLimits, check_members, check_name, extract_checked, open_zip

Entry = tuple[str, bytes] | zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]


def _zip(path: Path, *entries: Entry, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip of ``entries`` (names with bytes, or hand-made ZipInfos), duplicates allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicates we mean to write
        with zipfile.ZipFile(path, "w", method) as zf:
            for entry in entries:
                if isinstance(entry, zipfile.ZipInfo):
                    zf.writestr(entry, b"")
                elif isinstance(entry[0], zipfile.ZipInfo):
                    zf.writestr(entry[0], entry[1])
                else:
                    zf.writestr(str(entry[0]), entry[1])
    return path


def _info(name: str, mode: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


BIG_ZEROS = b"\0" * (8 << 20)

HOSTILE: dict[str, tuple[Callable[[], list[Entry]], str, ZipLimits]] = {
    "zip-slip": (lambda: [("../evil.png", b"x")], "unsafe_archive_path", ZipLimits()),
    "deep zip-slip": (lambda: [("a/../../evil", b"x")], "unsafe_archive_path", ZipLimits()),
    "absolute": (lambda: [("/etc/evil", b"x")], "unsafe_archive_path", ZipLimits()),
    "drive letter": (lambda: [("C:evil", b"x")], "unsafe_archive_path", ZipLimits()),
    "backslash": (lambda: [("a\\..\\evil", b"x")], "unsafe_archive_path", ZipLimits()),
    "empty component": (lambda: [("a//b", b"x")], "unsafe_archive_path", ZipLimits()),
    "dot component": (lambda: [("./a", b"x")], "unsafe_archive_path", ZipLimits()),
    "control character": (lambda: [("a\x1bb", b"x")], "unsafe_archive_path", ZipLimits()),
    "padded component": (lambda: [("a /b", b"x")], "unsafe_archive_path", ZipLimits()),
    "symlink": (
        lambda: [(_info("link.png", stat.S_IFLNK | 0o777), b"/etc/passwd")],
        "archive_entry_type",
        ZipLimits(),
    ),
    "fifo": (lambda: [_info("pipe", stat.S_IFIFO | 0o600)], "archive_entry_type", ZipLimits()),
    "char device": (
        lambda: [_info("tty", stat.S_IFCHR | 0o600)],
        "archive_entry_type",
        ZipLimits(),
    ),
    "duplicate": (
        lambda: [("a.png", b"one"), ("a.png", b"two")],
        "archive_duplicate_entry",
        ZipLimits(),
    ),
    "case collision": (
        lambda: [("Shot.PNG", b"one"), ("shot.png", b"two")],
        "archive_duplicate_entry",
        ZipLimits(),
    ),
    "unicode collision": (
        lambda: [("caf\u00e9", b"one"), ("cafe\u0301", b"two")],
        "archive_duplicate_entry",
        ZipLimits(),
    ),
    "file and folder": (
        lambda: [("a", b"one"), ("a/b", b"two")],
        "archive_duplicate_entry",
        ZipLimits(),
    ),
    "too many entries": (
        lambda: [(f"f{i}", b"x") for i in range(4)],
        "archive_too_large",
        ZipLimits(max_entries=3),
    ),
    "entry over cap": (
        lambda: [("big", b"y" * 2000)],
        "archive_too_large",
        ZipLimits(max_entry_bytes=1000),
    ),
    "total over cap": (
        lambda: [("a", b"y" * 600), ("b", b"y" * 600)],
        "archive_too_large",
        ZipLimits(max_total_bytes=1000),
    ),
    "bomb": (lambda: [("zeros.png", BIG_ZEROS)], "archive_bomb", ZipLimits()),
    "not allowed": (
        lambda: [("artifacts/a.png", b"x"), ("extra.sh", b"#!")],
        "archive_unexpected_entry",
        ZipLimits(allowed=frozenset({"artifacts/a.png"})),
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zips_are_refused_before_anything_is_read(tmp_path: Path, case: str) -> None:
    entries, code, limits = HOSTILE[case]
    archive = _zip(tmp_path / "h.zip", *entries())
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        check_members(zf, limits)
    assert caught.value.code == code, caught.value.message


def test_an_encrypted_entry_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "enc.zip", ("a", b"secret"))
    data = bytearray(archive.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 0x1  # the central directory's "encrypted" flag (zipfile never writes it)
    archive.write_bytes(bytes(data))
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        check_members(zf, ZipLimits())
    assert caught.value.code == "archive_entry_type"


@pytest.mark.parametrize(
    "name", ["a.png", "2026/11/25/shot 09.00.png", "dir/", "a/b/c.d.e", "caf\u00e9.png"]
)
def test_plain_names_pass(name: str) -> None:
    assert check_name(name)


def test_extraction_writes_owner_only_files_with_their_real_hashes(tmp_path: Path) -> None:
    files = {"artifacts/2026/a.png": os.urandom(3000), "artifacts/b.txt": b"hello" * 100}
    archive = _zip(tmp_path / "ok.zip", _info("artifacts/", stat.S_IFDIR | 0o700), *files.items())
    dest = tmp_path / "out"
    dest.mkdir()
    seen: list[int] = []
    with open_zip(archive) as zf:
        members = check_members(zf, ZipLimits())
        expected = {n: (_sha(b), len(b)) for n, b in files.items()}
        out = extract_checked(zf, members, dest, expected, ZipLimits(), progress=seen.append)
    assert {f.name: (f.sha256, f.bytes) for f in out} == expected
    for name, body in files.items():
        path = dest / name
        assert path.read_bytes() == body
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (dest / "artifacts", dest / "artifacts" / "2026"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert seen == [3000, 3500]


def test_a_folder_entry_alone_is_fine(tmp_path: Path) -> None:
    with open_zip(_zip(tmp_path / "d.zip", _info("d/", stat.S_IFDIR | 0o755))) as zf:
        members = check_members(zf, ZipLimits())
        assert extract_checked(zf, members, tmp_path, None, ZipLimits()) == []
    assert (tmp_path / "d").is_dir()


@pytest.mark.parametrize(
    ("expected", "code"),
    [
        ({"a": (_sha(b"first"), 5), "b": (_sha(b"other"), 6)}, "archive_hash_mismatch"),
        ({"a": (_sha(b"first"), 5), "b": (_sha(b"second"), 7)}, "archive_hash_mismatch"),
        ({"a": (_sha(b"first"), 5)}, "archive_unexpected_entry"),
    ],
    ids=["wrong hash", "wrong size", "not in the manifest"],
)
def test_a_bad_second_entry_takes_back_the_first(
    tmp_path: Path, expected: dict[str, tuple[str, int]], code: str
) -> None:
    archive = _zip(tmp_path / "x.zip", ("a", b"first"), ("sub/b", b"second"))
    expected = {("sub/b" if k == "b" else k): v for k, v in expected.items()}
    dest = tmp_path / "out"
    dest.mkdir()
    with open_zip(archive) as zf:
        members = check_members(zf, ZipLimits())
        with pytest.raises(UnsafeArchiveError) as caught:
            extract_checked(zf, members, dest, expected, ZipLimits())
    assert caught.value.code == code
    assert _tree(dest) == []


def test_the_bomb_is_caught_by_counting_real_bytes(tmp_path: Path) -> None:
    """Even a caller that skips ``check_members`` is stopped while streaming."""
    archive = _zip(tmp_path / "bomb.zip", ("ok", b"fine"), ("zeros", BIG_ZEROS))
    dest = tmp_path / "out"
    dest.mkdir()
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        extract_checked(zf, zf.infolist(), dest, None, ZipLimits())
    assert caught.value.code == "archive_bomb"
    assert _tree(dest) == []


def test_a_lying_size_is_counted_not_trusted(tmp_path: Path) -> None:
    """A header that claims fewer bytes than the data holds is refused (CRC or cap)."""
    body = os.urandom(5000)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a", body)
    data = bytearray(raw.getvalue())
    # rewrite the central directory's uncompressed size (offset 24 in the entry) to 100
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    (tmp_path / "lie.zip").write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    with open_zip(tmp_path / "lie.zip") as zf:
        members = check_members(zf, ZipLimits(max_entry_bytes=200))
        with pytest.raises(UnsafeArchiveError) as caught:
            extract_checked(zf, members, dest, None, ZipLimits(max_entry_bytes=200))
    assert caught.value.code in {"archive_hash_mismatch", "archive_too_large"}
    assert _tree(dest) == []


def test_a_corrupted_byte_fails_its_crc(tmp_path: Path) -> None:
    body = b"A" * 4000
    archive = _zip(tmp_path / "c.zip", ("a", body), method=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    data[data.find(body) + 100] ^= 0xFF
    archive.write_bytes(bytes(data))
    dest = tmp_path / "out"
    dest.mkdir()
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        extract_checked(zf, check_members(zf, ZipLimits()), dest, None, ZipLimits())
    assert caught.value.code == "archive_hash_mismatch"
    assert _tree(dest) == []


def test_a_symlinked_folder_in_the_destination_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "artifacts").symlink_to(outside)
    archive = _zip(tmp_path / "s.zip", ("artifacts/a.png", b"x"))
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        extract_checked(zf, check_members(zf, ZipLimits()), dest, None, ZipLimits())
    assert caught.value.code == "unsafe_archive_path"
    assert list(outside.iterdir()) == []


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "a").write_bytes(b"mine")
    archive = _zip(tmp_path / "e.zip", ("a", b"theirs"))
    with open_zip(archive) as zf, pytest.raises(UnsafeArchiveError) as caught:
        extract_checked(zf, check_members(zf, ZipLimits()), dest, None, ZipLimits())
    assert caught.value.code == "archive_duplicate_entry"
    assert (dest / "a").read_bytes() == b"mine"


@pytest.mark.parametrize("body", [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40])
def test_not_a_zip_is_archive_invalid(tmp_path: Path, body: bytes) -> None:
    (tmp_path / "n.zip").write_bytes(body)
    with pytest.raises(UnsafeArchiveError) as caught:
        open_zip(tmp_path / "n.zip")
    assert caught.value.code == "archive_invalid"
