"""Control's widget routes: render through Operations, sanitize, serve artifacts by token.

- ``GET /api/widgets/{instance_id}/manifest``: what the widget supports (refresh bounds).
- ``GET /api/widgets/{instance_id}/render[?force=1]``: asks Operations for a preflighted
  frame (``request_widget_render``), sanitizes it here — Control is the final authority —
  and rewrites ``mimolo://artifact/<token>`` images to ``/artifacts/<instance_id>/<token>``.
  Failures come back as ``{"ok": false, "error": <code>, "message"}`` (answered by
  ``control.errors_http`` with the code's status) so the canvas can show them in place
  instead of breaking the page.
- ``POST /api/widgets/{instance_id}/action``: ``dispatch_widget_action`` (``refresh``
  flushes a summary into the evidence at once).
- ``GET /artifacts/{instance_id}/{token}``: resolves the token through Operations (scoped to
  that instance), re-opens the file without following symlinks, checks it is the same inode
  and really an image, and serves it with a sandboxing CSP. Behind the session cookie like
  every other route.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.artifact_files import ResolvedArtifact, read_verified
from mimolo.control.context import control_state
from mimolo.control.forms import read_form
from mimolo.control.responses import json_error, json_ok
from mimolo.errors import ArtifactError, IpcError, MimoloError
from mimolo.protocol.widget_html import TOKEN_PATTERN, prepare_widget_html
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)

_TOKEN_RE: Final = re.compile(rf"^{TOKEN_PATTERN}$")
_ACTION_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ARTIFACT_HEADERS: Final = {
    "content-security-policy": "default-src 'none'; sandbox",
    "content-disposition": "inline",
    # Never cached: an expired token must stop working in this browser too.
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}
_NOT_FOUND_CODES: Final = frozenset(
    {
        "artifact_token_unknown",
        "artifact_token_expired",
        "artifact_scope_mismatch",
        "artifact_missing",
    }
)


def _instance(request: Request) -> str | None:
    instance_id = request.path_params["instance_id"]
    return instance_id if is_slug(instance_id) else None


async def manifest(request: Request) -> Response:
    """``GET /api/widgets/{id}/manifest``."""
    instance_id = _instance(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    data = await control_state(request).ops.request("get_widget_manifest", instance_id=instance_id)
    return json_ok(data=data)


async def render(request: Request) -> Response:
    """``GET /api/widgets/{id}/render``: sanitized HTML ready for the canvas."""
    instance_id = _instance(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    fields: dict[str, Any] = {"instance_id": instance_id}
    if request.query_params.get("force") in ("1", "true"):
        fields["force"] = True
    frame = await control_state(request).ops.request("request_widget_render", **fields)
    raw = frame.get("html")
    if not isinstance(raw, str):
        return json_error("render_validation_failed", "Operations sent no HTML", status=502)
    html = prepare_widget_html(raw, instance_id)
    return json_ok(
        html=html,
        ttl_ms=frame.get("ttl_ms", 0),
        cached=bool(frame.get("cached")),
        age_ms=frame.get("age_ms", 0),
        images=frame.get("images", 0),
        state_token=frame.get("state_token", ""),
        rendered_at=frame.get("rendered_at"),
        min_refresh_ms=frame.get("min_refresh_ms"),
    )


async def action(request: Request) -> Response:
    """``POST /api/widgets/{id}/action`` with ``action`` (form or JSON)."""
    instance_id = _instance(request)
    if instance_id is None:
        return json_error("invalid_id", "not a valid instance id", status=404)
    form = await read_form(request)
    name = form.get("action", "")
    if not _ACTION_RE.fullmatch(name):
        return json_error("invalid_action", f"invalid widget action {name!r}", key="action")
    data = await control_state(request).ops.request(
        "dispatch_widget_action", instance_id=instance_id, action=name
    )
    done = "Refreshed" if name == "refresh" else f"Sent {name} to"
    return json_ok(message=f"{done} {instance_id}.", data=data)


def _refused(status: int, code: str) -> Response:
    return Response(
        code, status_code=status, media_type="text/plain", headers={"cache-control": "no-store"}
    )


async def artifact(request: Request) -> Response:
    """``GET /artifacts/{id}/{token}``: the image behind a live token of that instance."""
    instance_id = _instance(request)
    token = request.path_params["token"]
    if instance_id is None or not _TOKEN_RE.fullmatch(token):
        return _refused(404, "artifact_token_unknown")
    state = control_state(request)
    try:
        data = await state.ops.request(
            "resolve_artifact_token", token=token, instance_id=instance_id
        )
        resolved = msgspec.convert(data, ResolvedArtifact)
        if resolved.instance_id != instance_id:
            raise ArtifactError("token scope mismatch", code="artifact_scope_mismatch")
        body = read_verified(state.data_root, resolved)
    except (IpcError, ArtifactError) as exc:
        log.info("artifact %s… for %s refused: %s", token[:6], instance_id, exc.code)
        if exc.code == "ops_unavailable":
            return _refused(503, exc.code)
        return _refused(404 if exc.code in _NOT_FOUND_CODES else 403, exc.code)
    except (msgspec.ValidationError, MimoloError) as exc:
        log.warning("artifact %s… for %s: bad answer: %s", token[:6], instance_id, exc)
        return _refused(502, "artifact_refused")
    return Response(body, media_type=resolved.mime, headers=dict(ARTIFACT_HEADERS))


routes = [
    Route("/api/widgets/{instance_id}/manifest", manifest),
    Route("/api/widgets/{instance_id}/render", render),
    Route("/api/widgets/{instance_id}/action", action, methods=["POST"]),
    Route("/artifacts/{instance_id}/{token}", artifact),
]

__all__ = ["ARTIFACT_HEADERS", "routes"]
