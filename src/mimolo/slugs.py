"""Validation of ids, labels and versions before they go near a path or a config key.

Ids (``plugin_id``, ``instance_id``, ``agent_id``) are slugs: lowercase ASCII letters,
digits, ``-`` and ``_``, starting with a letter or digit, at most 64 characters. They are the
only user-influenced names ever joined onto a path.
"""

from __future__ import annotations

import re
from typing import Final

from mimolo.errors import ConfigError

SLUG_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LABEL_MAX: Final = 120


def is_slug(value: object) -> bool:
    return isinstance(value, str) and SLUG_RE.fullmatch(value) is not None


def check_slug(value: object, what: str) -> str:
    """Return ``value`` if it is a slug, else raise ``ConfigError`` naming ``what``."""
    if not is_slug(value):
        raise ConfigError(
            f"{value!r} is not a valid id (lowercase letters, digits, '-' or '_', 1-64 chars)",
            field=what,
            code="invalid_id",
        )
    assert isinstance(value, str)
    return value


def check_label(value: object, what: str = "label") -> str:
    """A human label: printable, non-empty, bounded. Never used in a path."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", field=what, code="invalid_label")
    if len(value) > LABEL_MAX or not value.isprintable():
        raise ConfigError(
            f"must be printable and at most {LABEL_MAX} characters",
            field=what,
            code="invalid_label",
        )
    return value


def slugify(text: str, fallback: str = "instance") -> str:
    """Derive a slug from free text (for new instance ids from labels)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-_")[:64].strip("-_")
    return slug or fallback


__all__ = ["LABEL_MAX", "SLUG_RE", "check_label", "check_slug", "is_slug", "slugify"]
