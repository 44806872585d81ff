"""Report templates: Jinja2 files shipped in the package, overridable by the user.

A file of the same name under ``DataRoot.templates_dir`` takes precedence over the built-in
one; ``copy_templates`` puts editable copies there. HTML templates are autoescaped.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import jinja2
import msgspec
from jinja2.sandbox import SandboxedEnvironment

from mimolo.dataroot import FILE_MODE, ensure_private_dir
from mimolo.errors import ReportError
from mimolo.reports.rows import format_hm, format_hms, format_hours

BUILTIN_DIR = Path(__file__).parent / "templates"


class TemplateInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A template name and where it would be loaded from."""

    name: str
    source: str  # "builtin" or "user"
    path: str


def _strftime(value: datetime | date, fmt: str = "%H:%M") -> str:
    return value.strftime(fmt)


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.glob("*.j2"))


def environment(user_dir: Path | None) -> jinja2.Environment:
    """A sandboxed environment: user templates first, then the built-ins."""
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN_DIR)))
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["hm"] = format_hm
    env.filters["hours"] = format_hours
    env.filters["hms"] = format_hms
    env.filters["hhmm"] = _strftime
    return env


def render(user_dir: Path | None, name: str, context: dict[str, object]) -> str:
    """Render ``name``; template errors become a ``ReportError`` naming the template."""
    env = environment(user_dir)
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateError as exc:
        origin = "user" if user_dir is not None and (user_dir / name).is_file() else "built-in"
        raise ReportError(
            f"{origin} template {name!r} failed: {exc}", code="template_error"
        ) from None


def list_templates(user_dir: Path | None) -> list[TemplateInfo]:
    """Built-in templates, each marked with the file that wins (a user copy or the built-in)."""
    out = []
    for name in builtin_names():
        user = user_dir / name if user_dir is not None else None
        if user is not None and user.is_file():
            out.append(TemplateInfo(name=name, source="user", path=str(user)))
        else:
            out.append(TemplateInfo(name=name, source="builtin", path=str(BUILTIN_DIR / name)))
    return out


def copy_templates(user_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the built-ins into ``user_dir`` (0600); existing copies are kept unless asked."""
    ensure_private_dir(user_dir)
    written = []
    for name in builtin_names():
        dest = user_dir / name
        if dest.exists() and not overwrite:
            continue
        shutil.copyfile(BUILTIN_DIR / name, dest)
        dest.chmod(FILE_MODE)
        written.append(dest)
    return written


__all__ = [
    "BUILTIN_DIR",
    "TemplateInfo",
    "builtin_names",
    "copy_templates",
    "environment",
    "list_templates",
    "render",
]
