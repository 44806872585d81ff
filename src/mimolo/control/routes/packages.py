"""The Packages view: installed agent packages, the trust policy, install / upgrade / remove.

Control never writes ``packages/`` or ``trust/``: an uploaded zip is held as a private
file under ``control/uploads/`` (``control.uploads``), Operations inspects it
(``inspect_package``) and the user sees the manifest, hash, signer and trust state before
confirming; the confirmation sends ``install_package`` (``force`` for the identical
package) or ``upgrade_package`` with that file's path, which is then deleted whatever the
outcome. ``remove_package`` names the instances it would take along. Errors (Control's and
Operations' codes) reach ``control.errors_http`` and are shown inline by ``packages.js``.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mimolo.control.context import control_state, render
from mimolo.control.forms import read_form
from mimolo.control.package_view import (
    ACTIONS,
    installed_rows,
    policy_of,
    review_of,
)
from mimolo.control.responses import json_ok
from mimolo.control.uploads import PendingUploads, remove_file
from mimolo.errors import InvalidField, IpcError, OperationsUnavailable, UploadInvalid
from mimolo.packages.versions import is_version
from mimolo.slugs import is_slug

log = logging.getLogger(__name__)

UPLOADS_STATE: Final = "package_uploads"
COMMAND: Final = {"install": "install_package", "reinstall": "install_package",
                  "upgrade": "upgrade_package"}  # fmt: skip
DONE: Final = {"install": "Installed", "reinstall": "Reinstalled", "upgrade": "Upgraded to"}


def pending_uploads(app: Starlette) -> PendingUploads:
    """The app's held uploads (made on first use, clearing a previous run's leftovers)."""
    store: PendingUploads | None = getattr(app.state, UPLOADS_STATE, None)
    if store is None:
        store = PendingUploads(app.state.control.data_root.control_dir / "uploads")
        store.clear()
        setattr(app.state, UPLOADS_STATE, store)
    return store


def discard_uploads(app: Starlette) -> None:
    """Delete every held upload (Control is shutting down)."""
    store: PendingUploads | None = getattr(app.state, UPLOADS_STATE, None)
    if store is not None:
        store.clear()


async def view_context(request: Request) -> dict[str, Any]:
    """Rows, policy and any problem reaching Operations (the page renders either way)."""
    state = control_state(request)
    context: dict[str, Any] = {
        "rows": [], "broken": [], "policy": None, "problem": None, "developer_mode": False,
    }  # fmt: skip
    if not state.ops.available:
        context["problem"] = "Operations is unavailable: packages and trust cannot be read."
        return context
    try:
        listed = await state.ops.request("list_installed_packages")
        policy = await state.ops.request("get_trust_policy")
    except IpcError as exc:
        log.info("packages view: %s: %s", exc.code, exc.message)
        context["problem"] = f"{exc.message} ({exc.code})"
        return context
    packages, broken = listed.get("packages"), listed.get("broken")
    context["rows"] = installed_rows(packages if isinstance(packages, list) else [])
    context["broken"] = (
        [b for b in broken if isinstance(b, dict)] if isinstance(broken, list) else []
    )
    context["policy"] = shown = policy_of(policy)
    # the flag (`mimolo ops --developer-mode`) or the setting: either turns it on
    context["developer_mode"] = shown.developer_mode or listed.get("developer_mode") is True
    return context


async def packages_page(request: Request) -> Response:
    """``GET /packages``."""
    return render(request, "packages.html", "packages", **await view_context(request))


async def packages_fragment(request: Request) -> Response:
    """``GET /fragments/packages``: the policy and installed list (refreshed by script)."""
    return render(request, "_packages_list.html", "packages", **await view_context(request))


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise UploadInvalid("the Content-Length header is not a number")
    return int(raw)


async def upload(request: Request) -> Response:
    """``POST /api/packages/upload`` (multipart, one file ``package``): hold it, have
    Operations inspect it, answer the review to confirm."""
    state = control_state(request)
    if not state.ops.available:
        raise OperationsUnavailable(state.ops.last_error or "Operations is not connected")
    store = pending_uploads(request.app)
    held = await store.receive(
        request.stream(), request.headers.get("content-type", ""), _content_length(request)
    )
    try:
        # force: what Operations would do if the user confirmed a force reinstall too,
        # so the identical package is offered "reinstall" (and nothing else is)
        inspection = await state.ops.request("inspect_package", path=str(held.path), force=True)
        review = review_of(inspection)
    except BaseException:
        store.discard(held.upload_id)
        raise
    held.inspection = {"plugin_id": review.plugin_id, "version": review.version,
                       "action": review.action}  # fmt: skip
    page = render(request, "_package_review.html", "packages", review=review, upload=held)
    html = bytes(page.body).decode()
    return json_ok(
        upload_id=held.upload_id,
        plugin_id=review.plugin_id,
        version=review.version,
        action=review.action,
        html=html,
    )


def _offered(review_action: Any, asked: str) -> bool:
    return asked in ACTIONS and asked == review_action


async def confirm(request: Request) -> Response:
    """``POST /api/packages/confirm`` (``upload_id``, ``action``): the offered action on
    the held file, which is deleted afterwards, installed or not."""
    form = await read_form(request)
    store = pending_uploads(request.app)
    held = store.take(form.get("upload_id", ""))
    try:
        action = form.get("action", "")
        if not _offered(held.inspection.get("action"), action):
            raise InvalidField("action", f"{action!r} is not what this package was offered")
        fields: dict[str, Any] = {"path": str(held.path)}
        if action == "reinstall":
            fields["force"] = True
        data = await control_state(request).ops.request(COMMAND[action], **fields)
    finally:
        remove_file(held)
    what = f"{held.inspection.get('plugin_id')} {held.inspection.get('version')}"
    return json_ok(message=f"{DONE[action]} {what}.", data=data)


async def cancel(request: Request) -> Response:
    """``POST /api/packages/cancel`` (``upload_id``): forget the upload, delete its file."""
    form = await read_form(request)
    pending_uploads(request.app).discard(form.get("upload_id", ""))
    return json_ok(message="Upload discarded.")


async def remove(request: Request) -> Response:
    """``POST /api/packages/remove`` (``plugin_id``, ``version``?, ``remove_instances``)."""
    form = await read_form(request)
    plugin_id = form.get("plugin_id", "")
    if not is_slug(plugin_id):
        raise InvalidField("plugin_id", "not a plugin id")
    fields: dict[str, Any] = {"plugin_id": plugin_id}
    version = form.get("version", "").strip()
    if version:
        if not is_version(version):
            raise InvalidField("version", "not a semantic version")
        fields["version"] = version
    if form.get("remove_instances") in ("1", "true", "on"):
        fields["remove_instances"] = True
    data = await control_state(request).ops.request("remove_package", **fields)
    what = f"{plugin_id} {version}" if version else plugin_id
    return json_ok(message=f"Removed {what}.", data=data)


routes = [
    Route("/packages", packages_page),
    Route("/fragments/packages", packages_fragment),
    Route("/api/packages/upload", upload, methods=["POST"]),
    Route("/api/packages/confirm", confirm, methods=["POST"]),
    Route("/api/packages/cancel", cancel, methods=["POST"]),
    Route("/api/packages/remove", remove, methods=["POST"]),
]

__all__ = ["discard_uploads", "pending_uploads", "routes", "view_context"]
