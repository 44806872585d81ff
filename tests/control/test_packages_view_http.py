"""The Packages routes over real HTTP against a real Operations: the page, and every
refusal (no session, no CSRF token, another origin, bad multipart, oversize, an unknown
upload, an action that was not offered) with its code, leaving no upload file behind."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator

import httpx
import pytest

from mimolo.dataroot import DataRoot

from ._live import LiveControl, OpsProcess, running_ops, wait_for
from ._packages_kit import build

EMPTY_CONFIG = "[settings]\nheartbeat_interval_s = 1.0\n"
BOUNDARY = "----mimolohttptest"


@pytest.fixture(scope="module")
def ops(data_root: DataRoot) -> Iterator[OpsProcess]:
    with running_ops(data_root, EMPTY_CONFIG) as process:
        yield process


@pytest.fixture
def client(control: LiveControl, ops: OpsProcess) -> Iterator[httpx.Client]:
    wait_for(lambda: control.ops.available, "Control to reach Operations")
    with control.client() as signed_in:
        token = control.csrf_token(signed_in)
        signed_in.headers.update({"X-CSRF-Token": token, "Origin": control.base})
        yield signed_in


def uploads_dir(root: DataRoot) -> list[str]:
    folder = root.control_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def multipart(data: bytes, *, name: str = "package", filename: str = "p.zip") -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/zip\r\n\r\n'
    )
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_the_page_shows_the_policy_and_no_packages(client: httpx.Client) -> None:
    page = client.get("/packages")
    assert page.status_code == 200
    assert 'aria-current="page">Packages' in page.text
    assert 'id="trust-mode">release' in page.text
    assert 'id="no-packages"' in page.text
    assert "developer-mode-banner" not in page.text
    assert '<script src="/static/packages.js" defer></script>' in page.text
    fragment = client.get("/fragments/packages")
    assert fragment.status_code == 200 and "Trust policy" in fragment.text


def test_without_a_session_nothing_is_served_or_accepted(control: LiveControl) -> None:
    with control.client(signed_in=False) as anonymous:
        assert anonymous.get("/packages").status_code == 401
        assert anonymous.get("/fragments/packages").json()["ok"] is False
        refused = anonymous.post(
            "/api/packages/upload",
            headers={**MULTIPART, "Origin": control.base},
            content=multipart(b"PK"),
        )
        assert refused.status_code == 401


@pytest.mark.parametrize(
    "path", ["/api/packages/upload", "/api/packages/confirm", "/api/packages/remove"]
)
def test_a_missing_csrf_token_is_refused(
    client: httpx.Client, data_root: DataRoot, path: str
) -> None:
    del client.headers["X-CSRF-Token"]
    response = client.post(path, headers=MULTIPART, content=multipart(b"PK\x03\x04"))
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert uploads_dir(data_root) == []


def test_another_origin_is_refused(client: httpx.Client, data_root: DataRoot) -> None:
    response = client.post(
        "/api/packages/upload",
        headers={**MULTIPART, "Origin": "http://evil.example"},
        content=multipart(b"PK"),
    )
    assert response.status_code == 403
    assert uploads_dir(data_root) == []


BAD = {
    "not multipart": ({"Content-Type": "application/zip"}, b"PK\x03\x04"),
    "no boundary": ({"Content-Type": "multipart/form-data"}, multipart(b"PK")),
    "another field": (MULTIPART, multipart(b"PK", name="file")),
    "cut short": (MULTIPART, multipart(b"PK")[:-20]),
    "empty file": (MULTIPART, multipart(b"")),
    "garbage": (MULTIPART, b"\x00\x01 not a form at all"),
    "two files": (MULTIPART, multipart(b"a")[: -len(f"--{BOUNDARY}--\r\n")] + multipart(b"b")),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_multipart_is_refused_with_its_code(
    client: httpx.Client, data_root: DataRoot, case: str
) -> None:
    headers, body = BAD[case]
    response = client.post("/api/packages/upload", headers=headers, content=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert (answer["ok"], answer["error"]) == (False, "upload_invalid")
    assert uploads_dir(data_root) == []


def test_an_oversize_upload_is_refused_while_streaming(
    client: httpx.Client, data_root: DataRoot
) -> None:
    chunk = b"\0" * (1 << 20)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield multipart(b"")[: -len(f"\r\n--{BOUNDARY}--\r\n")]
        for _ in range(80):  # 80 MiB, more than the 64 MiB cap
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    try:
        response = client.post("/api/packages/upload", headers=MULTIPART, content=body())
    except httpx.WriteError:  # the server may answer and close before the rest is sent
        pass
    else:
        assert response.status_code == 413
        assert response.json()["error"] == "upload_too_large"
    assert uploads_dir(data_root) == []


def test_a_declared_oversize_length_is_refused_before_reading(
    client: httpx.Client, control: LiveControl, data_root: DataRoot
) -> None:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (
        "POST /api/packages/upload HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{control.port}\r\nOrigin: {control.base}\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {client.headers['X-CSRF-Token']}\r\n"
        f"Content-Type: {MULTIPART['Content-Type']}\r\nContent-Length: {65 << 20}\r\n"
        "Accept: application/json\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", control.port), timeout=30) as conn:
        conn.sendall(head.encode() + multipart(b"PK")[:10])  # and never the rest
        answer = b""
        while b"upload_too_large" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"error":"upload_too_large"' in answer
    assert uploads_dir(data_root) == []


def test_a_file_that_is_not_a_package_is_refused_by_operations_and_deleted(
    client: httpx.Client, data_root: DataRoot
) -> None:
    response = client.post(
        "/api/packages/upload", headers=MULTIPART, content=multipart(b"not a zip at all")
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {"archive_invalid", "package_unreadable"}
    assert uploads_dir(data_root) == []
    folder = data_root.control_dir / "uploads"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_confirming_an_unknown_upload_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/api/packages/confirm", data={"upload_id": "no-such-upload", "action": "install"}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "upload_unknown"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"plugin_id": "../etc"}, "plugin_id"),
        ({"plugin_id": "demo", "version": "one"}, "_form"),
    ],
)
def test_remove_checks_its_fields(client: httpx.Client, fields: dict[str, str], key: str) -> None:
    response = client.post("/api/packages/remove", data=fields)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "invalid_field" and answer["key"] == key


def test_removing_what_is_not_installed_shows_operations_code(client: httpx.Client) -> None:
    response = client.post("/api/packages/remove", data={"plugin_id": "nothing_here"})
    assert response.json()["error"] == "package_not_installed"


def test_an_action_that_was_not_offered_is_refused_and_the_upload_dropped(
    client: httpx.Client, data_root: DataRoot
) -> None:
    work = data_root.root.parent / "http-pkgs"
    work.mkdir(mode=0o700, exist_ok=True)
    path, _ = build(work, "beat_http", "1.0.0")  # unsigned: release mode offers nothing
    held = client.post(
        "/api/packages/upload", headers=MULTIPART, content=multipart(path.read_bytes())
    ).json()
    assert held["ok"] is True and held["action"] is None, held
    assert 'data-refusal="signature_missing"' in held["html"]
    assert len(uploads_dir(data_root)) == 1
    refused = client.post(
        "/api/packages/confirm", data={"upload_id": held["upload_id"], "action": "install"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_field"
    assert uploads_dir(data_root) == []
    again = client.post(
        "/api/packages/confirm", data={"upload_id": held["upload_id"], "action": "install"}
    )
    assert again.json()["error"] == "upload_unknown"
    assert not (data_root.packages_dir / "beat_http").exists()
