"""Control's held package uploads: a multipart body streamed into one private file, the
refusals (each with its code, nothing left behind) and the store's expiry on a fake clock."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from mimolo.control.uploads import PendingUploads, display_name, remove_file, stream_to_file
from mimolo.errors import UploadInvalid, UploadTooLarge, UploadUnknown

pytestmark = pytest.mark.anyio

BOUNDARY = "----mimolotestboundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, data: bytes, filename: str | None = "pkg.zip") -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    head += "Content-Type: application/zip\r\n\r\n"
    return head.encode() + data + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def from_list(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_file_part_is_streamed_byte_for_byte_into_a_private_file(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 300 + b"\r\n--not-the-boundary\r\n"
    target = tmp_path / "u.zip"
    name, size = await stream_to_file(
        chunks(body(part("package", payload)), size=1000), CONTENT_TYPE, target, cap=1 << 20
    )
    assert (name, size) == ("pkg.zip", len(payload))
    assert target.read_bytes() == payload
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


async def test_one_byte_chunks_parse_the_same(tmp_path: Path) -> None:
    target = tmp_path / "u.zip"
    await stream_to_file(
        chunks(body(part("package", b"PK\x03\x04abc")), 1), CONTENT_TYPE, target, cap=100
    )
    assert target.read_bytes() == b"PK\x03\x04abc"


BAD_BODIES = {
    "no closing boundary": part("package", b"abc"),
    "another field name": body(part("file", b"abc")),
    "a plain field, not a file": body(part("package", b"abc", filename=None)),
    "two parts": body(part("package", b"abc"), part("package", b"def")),
    "an empty file": body(part("package", b"")),
    "garbage": b"this is not multipart at all\r\n\r\n",
    "a wrong boundary": body(part("package", b"abc")).replace(BOUNDARY.encode(), b"other", 1),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_malformed_bodies_are_refused_and_leave_no_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / "u.zip"
    with pytest.raises(UploadInvalid) as caught:
        await stream_to_file(chunks(BAD_BODIES[name]), CONTENT_TYPE, target, cap=1000)
    assert caught.value.code == "upload_invalid"
    assert not target.exists()


@pytest.mark.parametrize(
    "content_type",
    ["application/zip", "multipart/form-data", "multipart/mixed; boundary=abc", ""],
)
async def test_a_body_that_is_not_multipart_form_data_is_refused(
    tmp_path: Path, content_type: str
) -> None:
    with pytest.raises(UploadInvalid) as caught:
        await stream_to_file(
            chunks(body(part("package", b"x"))), content_type, tmp_path / "u", cap=9
        )
    assert caught.value.code == "upload_invalid"
    assert not (tmp_path / "u").exists()


async def test_a_file_over_the_cap_is_refused_while_streaming(tmp_path: Path) -> None:
    target = tmp_path / "u.zip"
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield part("package", b"")[:-2]
        while True:
            sent += 4096
            yield b"\0" * 4096

    with pytest.raises(UploadTooLarge) as caught:
        await stream_to_file(endless(), CONTENT_TYPE, target, cap=64 * 1024)
    assert caught.value.code == "upload_too_large"
    assert caught.value.http_status == 413
    assert sent < 64 * 1024 + 70 * 1024  # stopped at the cap, not at the end
    assert not target.exists()


async def test_the_target_is_never_followed_or_overwritten(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    link = tmp_path / "u.zip"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        await stream_to_file(chunks(body(part("package", b"x"))), CONTENT_TYPE, link, cap=100)
    assert victim.read_bytes() == b"keep"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("pkg.zip", "pkg.zip"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\agent-1.0.0.zip", "agent-1.0.0.zip"),
        ("a\x00b\nc.zip", "abc.zip"),
        ("", "package.zip"),
        ("x" * 500, "x" * 200),
    ],
)
def test_the_client_file_name_is_for_display_only(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


async def test_the_store_holds_uploads_in_a_private_folder_until_used(tmp_path: Path) -> None:
    folder = tmp_path / "control" / "uploads"
    store = PendingUploads(folder, cap=1000, clock=Clock())
    held = await store.receive(chunks(body(part("package", b"zipbytes"))), CONTENT_TYPE, None)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert held.path.parent == folder and held.path.read_bytes() == b"zipbytes"
    assert store.get(held.upload_id) is held
    store.discard(held.upload_id)
    assert not held.path.exists()
    with pytest.raises(UploadUnknown) as caught:
        store.get(held.upload_id)
    assert caught.value.http_status == 404
    store.discard(held.upload_id)  # a second discard is no error


async def test_uploads_expire_on_the_clock(tmp_path: Path) -> None:
    clock = Clock()
    store = PendingUploads(tmp_path / "up", cap=1000, ttl_s=60, clock=clock)
    held = await store.receive(chunks(body(part("package", b"a"))), CONTENT_TYPE, None)
    clock.now += 59
    assert store.get(held.upload_id) is held
    clock.now += 1
    with pytest.raises(UploadUnknown):
        store.get(held.upload_id)
    assert not held.path.exists()


async def test_the_oldest_upload_is_dropped_past_the_limit(tmp_path: Path) -> None:
    store = PendingUploads(tmp_path / "up", cap=1000, max_pending=2, clock=Clock())
    first, second, third = [
        await store.receive(chunks(body(part("package", b"x"))), CONTENT_TYPE, None)
        for _ in range(3)
    ]
    assert len(store) == 2
    assert not first.path.exists() and second.path.exists() and third.path.exists()


async def test_a_declared_length_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    store = PendingUploads(tmp_path / "up", cap=1000, clock=Clock())
    read = []

    async def tracked() -> AsyncIterator[bytes]:
        read.append(1)
        yield b""

    with pytest.raises(UploadTooLarge):
        await store.receive(tracked(), CONTENT_TYPE, 10_000_000)
    assert read == [] and not (tmp_path / "up").exists()


async def test_clear_removes_held_uploads_and_a_previous_runs_leftovers(tmp_path: Path) -> None:
    folder = tmp_path / "up"
    folder.mkdir(mode=0o700)
    (folder / "stale.zip").write_bytes(b"old")
    store = PendingUploads(folder, cap=1000, clock=Clock())
    held = await store.receive(from_list([body(part("package", b"new"))]), CONTENT_TYPE, None)
    store.clear()
    assert list(folder.iterdir()) == [] and len(store) == 0
    assert not held.path.exists()


async def test_a_taken_upload_is_no_longer_held(tmp_path: Path) -> None:
    store = PendingUploads(tmp_path / "up", cap=1000, clock=Clock())
    held = await store.receive(chunks(body(part("package", b"zip"))), CONTENT_TYPE, None)
    taken = store.take(held.upload_id)
    assert taken is held and taken.path.exists() and len(store) == 0
    with pytest.raises(UploadUnknown):
        store.take(held.upload_id)  # a second confirmation of the same upload
    remove_file(taken)
    remove_file(taken)
    assert not taken.path.exists()
