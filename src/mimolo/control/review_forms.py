"""The review forms of the timeline page, checked and turned into IPC requests.

Pure: the submitted fields in, the fields of ``add_adjustment`` / ``revoke_adjustment``
out (or a ``ConfigError`` naming the form field). Times are typed as local wall-clock
times in the zone the page showed (the form's ``zone``); a drag also sends the exact UTC
instants (``start_utc``/``end_utc``), which win, so a selection in the repeated hour of
a DST change is not taken for the other one. Operations checks the rest (known clients,
overlaps, locked periods) and refuses with its own codes.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from mimolo.errors import ConfigError
from mimolo.slugs import is_slug

REASON_MAX: Final = 500
PROJECT_MAX: Final = 64
TAG_MAX: Final = 32
TAGS_MAX: Final = 16
RANGE_KINDS: Final = ("assign_range", "exclude_range", "manual_entry")
IDLE_KINDS: Final = ("idle_keep", "idle_discard", "idle_split")


def reason_of(form: dict[str, str]) -> str:
    """The required reason: printable, at most ``REASON_MAX`` characters."""
    reason = " ".join(form.get("reason", "").split())
    if not reason:
        raise ConfigError("say why (a reason is required)", field="reason")
    if len(reason) > REASON_MAX or not reason.isprintable():
        raise ConfigError(f"at most {REASON_MAX} printable characters", field="reason")
    return reason


def local_instant(text: str, tz: tzinfo, field: str) -> datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` in ``tz`` (the first of a repeated hour) as UTC.

    A wall time skipped by a DST change does not exist there and is refused.
    """
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError("must be a date and time (YYYY-MM-DDTHH:MM)", field=field) from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    local = naive.replace(tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        raise ConfigError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (a DST change skips it)",
            field=field,
        )
    return instant


def utc_instant(text: str, field: str) -> datetime:
    """An ISO-8601 instant with its offset (what the drag sends), as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError("must be an ISO-8601 instant", field=field) from None
    if value.tzinfo is None:
        raise ConfigError("must carry its UTC offset", field=field)
    return value.astimezone(UTC)


def instant_of(form: dict[str, str], name: str, tz: tzinfo) -> datetime:
    """The form's ``name`` instant: its exact ``<name>_utc`` when sent, else the local one."""
    exact = form.get(f"{name}_utc", "").strip()
    if exact:
        return utc_instant(exact, name)
    text = form.get(name, "").strip()
    if not text:
        raise ConfigError("pick a time (drag on the timeline or type it)", field=name)
    return local_instant(text, tz, name)


def range_of(form: dict[str, str], tz: tzinfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the form, at least a minute, never inverted."""
    start, end = instant_of(form, "start", tz), instant_of(form, "end", tz)
    if end <= start:
        raise ConfigError("must be after the start", field="end")
    return start, end


def tags_of(text: str) -> list[str]:
    """Comma- or space-separated tags: slugs, unique, in order."""
    tags: list[str] = []
    for raw in text.replace(",", " ").split():
        tag = raw.strip().lower()
        if not is_slug(tag) or len(tag) > TAG_MAX:
            raise ConfigError(f"{raw!r} is not a tag (letters, digits, - and _)", field="tags")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ConfigError(f"at most {TAGS_MAX} tags", field="tags")
    return tags


def assignment_of(form: dict[str, str], *, required: bool) -> dict[str, Any]:
    """``{client_id, project, tags}`` from the form (a client is required when asked)."""
    client = form.get("client_id", "").strip()
    if client and not is_slug(client):
        raise ConfigError("must be a client id (a slug)", field="client_id")
    if required and not client:
        raise ConfigError("pick the client this time is for", field="client_id")
    project = " ".join(form.get("project", "").split())
    if len(project) > PROJECT_MAX or not project.isprintable():
        raise ConfigError(f"at most {PROJECT_MAX} printable characters", field="project")
    return {
        "client_id": client or None,
        "project": project or None,
        "tags": tags_of(form.get("tags", "")),
    }


def range_request(form: dict[str, str], tz: tzinfo) -> dict[str, Any]:
    """``add_adjustment`` fields for an assign / exclude / manual entry of a selection."""
    kind = form.get("kind", "")
    if kind not in RANGE_KINDS:
        raise ConfigError("pick assign, exclude or manual entry", field="kind")
    start, end = range_of(form, tz)
    fields: dict[str, Any] = {
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "reason": reason_of(form),
    }
    if kind != "exclude_range":
        fields["assign"] = assignment_of(form, required=kind == "assign_range")
    return fields


def idle_request(form: dict[str, str], tz: tzinfo) -> dict[str, Any]:
    """``add_adjustment`` fields deciding an idle gap: keep, discard, or split at a time."""
    kind = form.get("kind", "")
    if kind not in IDLE_KINDS:
        raise ConfigError("pick keep, discard or split", field="kind")
    start, end = (
        utc_instant(form.get("start", ""), "start"),
        utc_instant(form.get("end", ""), "end"),
    )
    fields: dict[str, Any] = {
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "reason": reason_of(form),
    }
    if kind == "idle_split":
        text = form.get("split_at", "").strip()
        if not text:
            raise ConfigError("pick the time to split at", field="split_at")
        split_at = local_instant(text, tz, "split_at")
        if not start < split_at < end:
            raise ConfigError("must lie inside the idle gap", field="split_at")
        fields["split_at"] = split_at.isoformat()
    return fields


def revoke_request(form: dict[str, str]) -> dict[str, Any]:
    """``revoke_adjustment`` fields: the adjustment's id and why."""
    adjustment_id = form.get("id", "").strip()
    if not adjustment_id or len(adjustment_id) > 64 or not adjustment_id.isalnum():
        raise ConfigError("not an adjustment id", field="id")
    return {"id": adjustment_id, "reason": reason_of(form)}


__all__ = [
    "IDLE_KINDS",
    "RANGE_KINDS",
    "assignment_of",
    "idle_request",
    "instant_of",
    "local_instant",
    "range_request",
    "reason_of",
    "revoke_request",
    "tags_of",
    "utc_instant",
]
