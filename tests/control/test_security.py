"""Token, session cookie, CSRF, Origin and Host checks, and the security headers, over HTTP."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mimolo.control.context import TEMPLATES_DIR
from mimolo.control.headers import CSP

from ._live import LiveControl

PAGES = ["/", "/logs", "/evidence", "/timeline", "/reports", "/instances/new?plugin_id=x"]
API_GETS = [
    "/api/status",
    "/fragments/cards",
    "/fragments/logs",
    "/fragments/reports",
    "/api/reports/abc",
]
POSTS = [
    "/api/instances/example-a/start",
    "/api/instances/example-a/stop",
    "/api/instances/example-a/remove",
    "/api/instances/example-a/duplicate",
    "/api/instances/example-a/configure",
    "/api/instances",
    "/api/monitors/start",
    "/api/reports",
]


@pytest.mark.parametrize("path", PAGES + API_GETS)
def test_every_page_and_api_refuses_without_a_session(control: LiveControl, path: str) -> None:
    with control.client(signed_in=False) as client:
        response = client.get(path)
    assert response.status_code == 401
    assert "mimolo_session" not in response.headers.get("set-cookie", "")
    if path.startswith(("/api/", "/fragments/")):
        assert response.json()["ok"] is False
    else:
        assert "Not signed in" in response.text


@pytest.mark.parametrize("path", POSTS)
def test_every_action_refuses_without_a_session(control: LiveControl, path: str) -> None:
    with control.client(signed_in=False) as client:
        response = client.post(path, headers={"Origin": control.base}, data={"label": "x"})
    assert response.status_code == 401


def test_a_forged_cookie_is_refused(control: LiveControl) -> None:
    with control.client(signed_in=False) as client:
        client.cookies.set("mimolo_session", "forged-session-id")
        assert client.get("/").status_code == 401


def test_a_wrong_token_is_refused_and_sets_no_cookie(control: LiveControl) -> None:
    with control.client(signed_in=False) as client:
        response = client.get("/?token=not-the-token")
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_the_token_is_exchanged_for_a_strict_cookie_and_stripped(control: LiveControl) -> None:
    with control.client(signed_in=False) as client:
        token = control.auth.new_link_token()
        response = client.get(f"/evidence?date=2026-01-02&token={token}")
        assert response.status_code == 303
        assert response.headers["location"] == "/evidence?date=2026-01-02"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert token not in cookie
        page = client.get("/evidence?date=2026-01-02")
        assert page.status_code == 200
        assert token not in page.text


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_the_csrf_token_are_refused(control: LiveControl, path: str) -> None:
    with control.client() as client:
        response = client.post(path, headers={"Origin": control.base})
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Referer": "http://evil.example/page"},
        {},
    ],
    ids=["other-site", "null-origin", "other-port", "other-referer", "no-origin"],
)
def test_cross_origin_posts_are_refused_even_with_the_csrf_token(
    control: LiveControl, headers: dict[str, str]
) -> None:
    with control.client() as client:
        token = control.csrf_token(client)
        response = client.post("/api/monitors/stop", headers={**headers, "X-CSRF-Token": token})
    assert response.status_code == 403
    assert response.json()["error"] == "cross-site_request_refused"


def test_a_same_origin_post_with_the_token_passes_the_checks(control: LiveControl) -> None:
    with control.client() as client:
        token = control.csrf_token(client)
        response = client.post(
            "/api/instances/example-a/start",
            headers={"Origin": control.base, "X-CSRF-Token": token},
        )
        referer = client.post(
            "/api/monitors/start",
            headers={"Referer": f"{control.base}/", "X-CSRF-Token": token},
        )
    # Through the checks; Operations is not running, which the answer says.
    assert response.status_code == 503
    assert response.json()["error"] == "ops_unavailable"
    assert referer.status_code == 503


def test_another_sessions_csrf_token_is_refused(control: LiveControl) -> None:
    with control.client() as first, control.client() as second:
        token = control.csrf_token(first)
        response = second.post(
            "/api/monitors/start", headers={"Origin": control.base, "X-CSRF-Token": token}
        )
    assert response.status_code == 403


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:1", "localhost.evil.example", ""])
def test_a_foreign_host_header_is_refused(control: LiveControl, host: str) -> None:
    with control.client() as client:
        response = client.get("/", headers={"Host": host})
    assert response.status_code in (400, 403)


def test_localhost_by_name_is_accepted(control: LiveControl) -> None:
    with control.client() as client:
        response = client.get("/evidence", headers={"Host": f"localhost:{control.port}"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/instances/example-a/start", "/api/monitors/stop"])
def test_get_never_changes_state(control: LiveControl, path: str) -> None:
    with control.client() as client:
        assert client.get(path).status_code == 405


@pytest.mark.parametrize("path", [*PAGES, "/static/app.css", "/static/app.js", "/nope"])
def test_security_headers_on_every_response(control: LiveControl, path: str) -> None:
    with control.client() as client:
        response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert "default-src 'none'" in CSP and "frame-ancestors 'none'" in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "server" not in response.headers


@pytest.mark.parametrize("path", PAGES[:5])
def test_pages_have_no_inline_script_style_or_handlers(control: LiveControl, path: str) -> None:
    with control.client() as client:
        html = client.get(path).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert "http://" not in html.replace(control.base, "").replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


def test_templates_have_no_inline_script_or_style() -> None:
    for path in Path(TEMPLATES_DIR).glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert "<style" not in text and " style=" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path


def test_report_downloads_only_serve_files_directly_in_reports_dir(
    control: LiveControl, tmp_path: Path
) -> None:
    reports = control.root.reports_dir
    (reports / "ok.csv").write_text("a,b\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, reports / "link.csv")
    (control.root.control_dir / "outside.csv").write_text("outside")
    with control.client() as client:
        good = client.get("/reports/download/ok.csv")
        assert good.status_code == 200
        assert good.headers["content-disposition"].startswith("attachment")
        assert good.text == "a,b\n"
        for name in ("link.csv", "..%2Foutside.csv", "%2Fetc%2Fpasswd", ".hidden", "missing"):
            response = client.get(f"/reports/download/{name}")
            assert response.status_code == 404, name
            assert "secret" not in response.text
        assert client.get("/reports/download/../outside.csv").status_code == 404
