"""Control's one exception handler: a ``MimoloError`` escaping a route becomes its answer.

Routes let errors propagate; this maps each to the status its code has in
``mimolo.errors.CODES`` (an ``IpcError`` from Operations carries the server's code and
field). API and fragment paths get ``{"ok": false, "error", "message", "key"}`` where
``key`` names the form field to show the message next to; pages get the small refusal
page. Internal failures (status 500, not from Operations) are logged with their traceback
and answered like any other unexpected exception, without their message.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from mimolo.control.responses import json_error, refusal_response, wants_json
from mimolo.errors import IpcError, MimoloError

log = logging.getLogger(__name__)

FORM_FIELDS: Final = frozenset(
    {
        "instance_label", "client_id", "plugin_id",  # the instance form
        "kind", "start", "end", "client", "rate", "currency",  # the report form
        "action",  # the widget action form
        "reason", "project", "tags", "split_at",  # the timeline's review forms
    }
)  # fmt: skip
"""Form fields an error can be shown next to; any other field shows at the form's top."""


def form_key(field: str | None) -> str:
    """Map an error's field (``instances.x.params.y``, ``instance_label``) to the form
    field's name."""
    if not field:
        return "_form"
    if "params." in field:
        return "params." + field.rsplit("params.", 1)[1]
    last = field.rsplit(".", 1)[-1]
    return last if last in FORM_FIELDS else "_form"


def _internal(exc: MimoloError) -> bool:
    return exc.http_status == 500 and not isinstance(exc, IpcError)


async def mimolo_error(request: Request, exc: Exception) -> Response:
    """The answer for a ``MimoloError`` raised by a route (registered on the app)."""
    if not isinstance(exc, MimoloError):  # registered for MimoloError only
        raise exc
    method, path = request.method, request.url.path
    if _internal(exc):
        log.error("request failed: %s %s: %s", method, path, exc.code, exc_info=exc)
        return refusal_response(
            request.scope, 500, "Internal error", "Details are in Control's log."
        )
    log.info("refused %s %s: %s: %s", method, path, exc.code, exc.message)
    status = exc.http_status
    if wants_json(request.scope):
        return json_error(exc.code, exc.message, status=status, key=form_key(exc.field))
    return refusal_response(request.scope, status, HTTPStatus(status).phrase, exc.message)


__all__ = ["FORM_FIELDS", "form_key", "mimolo_error"]
