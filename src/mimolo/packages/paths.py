"""What a package may name: package-relative paths and argv elements (no shell, no way out
of the package folder). Pure checks raising ``ManifestInvalid`` with the field at fault."""

from __future__ import annotations

import re
from typing import Final

from mimolo.errors import ManifestInvalid

MAX_PATH_LEN: Final = 1024
MAX_COMPONENT_LEN: Final = 255
MAX_ARG_LEN: Final = 1024
RESERVED: Final = frozenset({"manifest.json", "manifest.sig"})
"""Names at the top of the package folder that are the package's own, not payload."""

_COMPONENT_RE: Final = re.compile(r"[A-Za-z0-9._@+=,-]+")
SHELL_META: Final = frozenset(";&|$`<>(){}[]*?!~#'\"\\%^")
"""Characters a shell would interpret; refused in every argv element (and whitespace, and
control characters), so an entry means the same with or without a shell."""


def check_relpath(path: object, field: str) -> str:
    """``path`` if it is a plain package-relative POSIX path: not absolute, no ``..``, ``.``
    or empty components, no backslashes or drive letters, a conservative character set."""
    if not isinstance(path, str) or not path:
        raise ManifestInvalid(f"{field}: must be a non-empty relative path", field=field)
    if len(path) > MAX_PATH_LEN:
        raise ManifestInvalid(f"{field}: path longer than {MAX_PATH_LEN}", field=field)
    if path.startswith("/"):
        raise ManifestInvalid(f"{field}: {path!r} is an absolute path", field=field)
    for part in path.split("/"):
        if part == "..":
            raise ManifestInvalid(f"{field}: {path!r} leaves the package (..)", field=field)
        if part in ("", "."):
            raise ManifestInvalid(f"{field}: {path!r} has an empty or '.' component", field=field)
        if len(part) > MAX_COMPONENT_LEN or _COMPONENT_RE.fullmatch(part) is None:
            raise ManifestInvalid(
                f"{field}: {path!r} may use only letters, digits and . _ @ + = , - in its names",
                field=field,
            )
    return path


def check_arg(arg: object, field: str) -> str:
    """One argv element: bounded, printable, no whitespace, no shell metacharacters, no
    absolute path and no ``..`` anywhere in it."""
    if not isinstance(arg, str) or not arg:
        raise ManifestInvalid(f"{field}: must be a non-empty string", field=field)
    if len(arg) > MAX_ARG_LEN:
        raise ManifestInvalid(f"{field}: longer than {MAX_ARG_LEN} characters", field=field)
    bad = sorted({c for c in arg if c in SHELL_META or c.isspace() or not c.isprintable()})
    if bad:
        raise ManifestInvalid(
            f"{field}: {arg!r} contains shell metacharacters or whitespace ({''.join(bad)!r}); "
            "the entry is an argv list, never a shell line",
            field=field,
        )
    if arg.startswith("/") or "=/" in arg:
        raise ManifestInvalid(
            f"{field}: {arg!r} names an absolute path; the entry may name only files "
            "inside the package",
            field=field,
        )
    if ".." in re.split(r"[/=]", arg):
        raise ManifestInvalid(f"{field}: {arg!r} leaves the package (..)", field=field)
    return arg


__all__ = [
    "MAX_ARG_LEN",
    "MAX_COMPONENT_LEN",
    "MAX_PATH_LEN",
    "RESERVED",
    "SHELL_META",
    "check_arg",
    "check_relpath",
]
