"""Sign-in over real HTTP: one use per link, expiry, and a redirect that stays on Control.

Requests with hostile targets go over a raw socket, so the request line is exactly what an
attacker's link would make a browser send (httpx would normalise it first).
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urljoin, urlsplit

import pytest

from mimolo.control.auth import return_location, same_origin_path
from mimolo.control.signin import LINK_TTL_S, mint_link_token

from ._live import DEADLINE_S, LiveControl


def raw_get(control: LiveControl, target: str, *headers: str) -> tuple[int, dict[str, str], str]:
    """``GET <target>`` as written; the status, the headers (lower-case names), the body."""
    lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{control.port}", "Connection: close"]
    request = "\r\n".join([*lines, *headers, "", ""]).encode("latin-1")
    with socket.create_connection(("127.0.0.1", control.port), timeout=DEADLINE_S) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), value.strip())
    return int(status_line.split()[1]), found, body.decode("utf-8", "replace")


def assert_stays_on_control(control: LiveControl, location: str) -> None:
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not any(ord(c) < 0x21 for c in location), location
    target = urlsplit(urljoin(control.base + "/", location))
    assert f"{target.scheme}://{target.netloc}" == control.base, location


def test_a_link_signs_in_once(control: LiveControl) -> None:
    token = control.auth.new_link_token()
    status, headers, _ = raw_get(control, f"/?token={token}")
    assert status == 303 and "mimolo_session=" in headers["set-cookie"]
    status, headers, body = raw_get(control, f"/?token={token}")
    assert status == 403
    assert "set-cookie" not in headers
    assert "Link already used" in body and "mimolo control --new-link" in body


def test_an_expired_link_is_refused(control: LiveControl) -> None:
    stale = mint_link_token(control.auth.secret, time.time() - LINK_TTL_S - 5)
    status, headers, body = raw_get(control, f"/?token={stale}")
    assert status == 403
    assert "set-cookie" not in headers
    assert "Link expired" in body


def test_a_link_from_another_launch_is_wrong(control: LiveControl) -> None:
    status, _, body = raw_get(control, f"/?token={mint_link_token(b'x' * 32, time.time())}")
    assert status == 403 and "Wrong token" in body


def test_a_signed_in_browser_reopening_a_used_link_is_just_redirected(
    control: LiveControl,
) -> None:
    with control.client() as client:
        token = control.auth.new_link_token()
        assert client.get(f"/logs?token={token}").status_code == 303
        again = client.get(f"/logs?level=info&token={token}")
        assert again.status_code == 303
        assert again.headers["location"] == "/logs?level=info"
        assert "set-cookie" not in again.headers
        assert client.get("/logs").status_code == 200


def test_only_get_spends_a_link(control: LiveControl) -> None:
    token = control.auth.new_link_token()
    with control.client(signed_in=False) as client:
        assert client.head(f"/?token={token}").status_code == 401
        assert client.get(f"/?token={token}").status_code == 303


def test_the_redirect_keeps_a_same_origin_path_and_query(control: LiveControl) -> None:
    token = control.auth.new_link_token()
    status, headers, _ = raw_get(control, f"/evidence?date=2026-01-02&active=1&token={token}")
    assert status == 303
    assert headers["location"] == "/evidence?date=2026-01-02&active=1"


HOSTILE_TARGETS = [
    "//evil.example/",
    "//evil.example/%2F..",
    "///evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "/%2F%2Fevil.example/",
    "/%2f/evil.example/",
    "/%5Cevil.example/",
    "/%5c%5cevil.example/",
    "/%09/evil.example/",
    "/%0A/evil.example/",
    "/%00/evil.example/",
    "https://evil.example/",
    "http://evil.example//evil.example/",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_redirect_never_leaves_control(control: LiveControl, target: str) -> None:
    token = control.auth.new_link_token()
    status, headers, _ = raw_get(control, f"{target}?token={token}")
    if status == 400:  # the HTTP parser refused the request line outright: also fine
        return
    assert status == 303, (target, status)
    assert_stays_on_control(control, headers["location"])
    if target.startswith(("//", "/\\", "/%2F", "/%2f", "/%5", "/%0", "/%09")):
        assert headers["location"] == "/", target


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/", True),
        ("/logs", True),
        ("/a//b", True),
        ("/https://evil.example", True),  # a path on Control, not a URL
        ("", False),
        ("evil.example", False),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("/\n/evil.example", False),
        ("/\x7f", False),
    ],
)
def test_same_origin_path(path: str, ok: bool) -> None:
    assert same_origin_path(path) is ok


def test_return_location_quotes_what_it_keeps() -> None:
    scope = {"path": "/evidence/é x%", "query_string": b"token=t&a=%C3%A9"}
    assert return_location(scope) == "/evidence/%C3%A9%20x%25?a=%C3%A9"
    assert return_location({"path": "//evil.example", "query_string": b"token=t"}) == "/"
