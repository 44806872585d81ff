"""Control's one exception handler: a MimoloError raised by a route becomes its answer."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.app import create_app
from mimolo.control.errors_http import form_key, mimolo_error
from mimolo.dataroot import DataRoot
from mimolo.errors import (
    ConfigError,
    FormTooLarge,
    LedgerError,
    MimoloError,
    NotConnected,
    RemoteError,
    WidgetError,
)


def _app(exc: Exception) -> Starlette:
    async def fail(request: Request) -> Response:
        raise exc

    return Starlette(
        routes=[Route("/api/thing", fail, methods=["GET", "POST"]), Route("/page", fail)],
        exception_handlers={MimoloError: mimolo_error},
    )


async def _get(exc: Exception, path: str = "/api/thing") -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://control") as client:
        return await client.get(path)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (NotConnected("no socket", absent=True), 503),
        (RemoteError("no such", code="unknown_instance"), 404),
        (RemoteError("stopped", code="agent_not_running"), 409),
        (RemoteError("later", code="busy"), 503),
        (RemoteError("odd", code="a_newer_servers_code"), 400),
        (WidgetError("slow", code="render_timeout"), 504),
        (WidgetError("bad html", code="render_validation_failed"), 502),
        (FormTooLarge("too big", field="_form"), 400),
    ],
    ids=lambda value: value.code if isinstance(value, MimoloError) else str(value),
)
@pytest.mark.anyio
async def test_api_errors_answer_the_codes_status(exc: MimoloError, status: int) -> None:
    response = await _get(exc)
    assert response.status_code == status
    assert response.json() == {"ok": False, "error": exc.code, "message": str(exc), "key": "_form"}


@pytest.mark.anyio
async def test_a_field_error_names_its_form_field_and_drops_the_prefix() -> None:
    remote = RemoteError(
        "instances.desk.params.seed: must be >= 0",
        code="config_invalid",
        field="instances.desk.params.seed",
    )
    body = (await _get(remote)).json()
    assert body["key"] == "params.seed"
    assert body["message"] == "Must be >= 0"
    local = (await _get(ConfigError("must not be before the start date", field="end"))).json()
    assert (local["key"], local["message"]) == ("end", "Must not be before the start date")


@pytest.mark.anyio
async def test_an_internal_error_is_logged_and_answered_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="mimolo.control.errors_http"):
        response = await _get(LedgerError("/secret/path: disk on fire"))
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret" not in response.text
    assert any(r.exc_info for r in caplog.records)


@pytest.mark.anyio
async def test_a_page_gets_the_refusal_page() -> None:
    response = await _get(RemoteError("no instance 'desk'", code="unknown_instance"), "/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not Found" in response.text and "no instance &#x27;desk&#x27;" in response.text
    internal = await _get(LedgerError("disk on fire"), "/page")
    assert internal.status_code == 500 and "disk on fire" not in internal.text


def test_the_app_registers_the_handler(tmp_path: Path) -> None:
    app = create_app(DataRoot.resolve(tmp_path))
    assert app.exception_handlers[MimoloError] is mimolo_error


@pytest.mark.parametrize(
    ("field", "expected"),
    [("instances.x.client_id", "client_id"), ("rate", "rate"), ("settings.queue_max", "_form"),
     ("_form", "_form"), ("", "_form")],
)  # fmt: skip
def test_form_keys(field: str, expected: str) -> None:
    assert form_key(field) == expected
