"""Refusals and error answers shaped for whoever asked: JSON for the API, a page for people."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

API_PREFIXES = ("/api/", "/fragments/")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · MiMoLo Control</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css"></head>
<body class="refusal"><main class="refusal-box">
<h1>{title}</h1><p>{detail}</p><p class="muted">HTTP {status}</p>
</main></body></html>
"""


def wants_json(scope: Mapping[str, Any]) -> bool:
    """API and fragment paths answer JSON; pages answer HTML."""
    return str(scope.get("path", "")).startswith(API_PREFIXES)


def refusal_response(scope: Mapping[str, Any], status: int, title: str, detail: str) -> Response:
    """A 4xx/5xx answer: ``{"ok": false, "error", "message"}`` or a small page."""
    if wants_json(scope):
        code = title.lower().replace(" ", "_").replace("'", "")
        return JSONResponse(
            {"ok": False, "error": code, "message": f"{title}: {detail}"},
            status_code=status,
            headers={"cache-control": "no-store"},
        )
    body = _PAGE.format(title=escape(title), detail=escape(detail), status=status)
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def json_error(code: str, message: str, *, status: int = 400, key: str | None = None) -> Response:
    """The API's error shape; ``key`` names the form field the error belongs to.

    A field's message drops its ``some.key: `` prefix: it is shown next to the field.
    """
    payload: dict[str, Any] = {"ok": False, "error": code, "message": message}
    if key is not None:
        payload["key"] = key
        head, sep, rest = message.partition(": ")
        if key != "_form" and sep and rest and " " not in head:
            payload["message"] = rest[:1].upper() + rest[1:]
    return JSONResponse(payload, status_code=status)


def json_ok(**data: Any) -> Response:
    """The API's success shape."""
    return JSONResponse({"ok": True, **data})


__all__ = ["json_error", "json_ok", "refusal_response", "wants_json"]
