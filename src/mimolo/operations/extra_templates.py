"""Test-only agent templates from a directory, for ``mimolo ops --extra-templates DIR``.

The fault-injection suite must run arbitrary agent commands under the real Operations.
Only whoever starts the Operations process can add such templates (a hidden command-line
option); no IPC command can set or load one. Each ``DIR/*.json`` file is one template:
``{"plugin_id", "label", "version", "argv": [...], "params": [...]}``, validated strictly.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Final

import msgspec

from mimolo.errors import ConfigError, ExtraTemplateError
from mimolo.operations.config import TemplateResolver
from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate
from mimolo.slugs import check_label, check_slug

log = logging.getLogger(__name__)

MAX_FILES: Final = 200
MAX_FILE_BYTES: Final = 64 * 1024
_VERSION_RE: Final = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


class ExtraTemplateFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The on-disk shape of one template file."""

    plugin_id: str
    label: str
    version: str
    argv: tuple[str, ...]
    params: tuple[Param, ...] = ()


class CommandTemplate(AgentTemplate, frozen=True, kw_only=True):
    """A template that runs a fixed argv (never built in, never verified)."""

    command: tuple[str, ...]

    def argv(self) -> list[str]:
        return list(self.command)


def _check(spec: ExtraTemplateFile, path: Path) -> CommandTemplate:
    where = path.name
    try:
        check_slug(spec.plugin_id, f"{where}: plugin_id")
        check_label(spec.label, f"{where}: label")
    except ConfigError as exc:
        raise ExtraTemplateError(str(exc)) from None
    if not _VERSION_RE.fullmatch(spec.version):
        raise ExtraTemplateError(f"{path}: version {spec.version!r} is not semver (1.2.3)")
    if not spec.argv:
        raise ExtraTemplateError(f"{path}: argv must name at least the executable")
    if not all(arg and "\0" not in arg for arg in spec.argv):
        raise ExtraTemplateError(f"{path}: argv entries must be non-empty and contain no NUL")
    if not os.path.isabs(spec.argv[0]):
        raise ExtraTemplateError(f"{path}: argv[0] must be an absolute path (no PATH lookup)")
    names = [p.name for p in spec.params]
    if len(set(names)) != len(names):
        raise ExtraTemplateError(f"{path}: params declares a name twice")
    return CommandTemplate(
        plugin_id=spec.plugin_id,
        label=spec.label,
        description=f"test template from {path}",
        version=spec.version,
        module="",
        params=spec.params,
        builtin=False,
        verified=False,
        command=spec.argv,
    )


def load_extra_templates(directory: Path) -> dict[str, CommandTemplate]:
    """Every ``*.json`` template in ``directory`` by ``plugin_id``; raises on any bad file."""
    if not directory.is_dir():
        raise ExtraTemplateError(f"{directory}: not a directory")
    files = sorted(directory.glob("*.json"))
    if len(files) > MAX_FILES:
        raise ExtraTemplateError(f"{directory}: more than {MAX_FILES} template files")
    out: dict[str, CommandTemplate] = {}
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ExtraTemplateError(f"{path}: cannot read: {exc.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise ExtraTemplateError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        try:
            spec = msgspec.json.decode(raw, type=ExtraTemplateFile, strict=True)
        except msgspec.DecodeError as exc:  # ValidationError included
            raise ExtraTemplateError(f"{path}: {exc}") from None
        template = _check(spec, path)
        if template.plugin_id in out:
            raise ExtraTemplateError(f"{path}: plugin_id {template.plugin_id!r} defined twice")
        out[template.plugin_id] = template
    return out


def chain_resolvers(first: TemplateResolver, extra: dict[str, CommandTemplate]) -> TemplateResolver:
    """Resolve through ``first`` (the built-ins), then the extra templates.

    An extra template may not shadow a built-in one: that would silently change what an
    existing instance runs.
    """
    clash = sorted(pid for pid in extra if first(pid) is not None)
    if clash:
        raise ExtraTemplateError(f"extra templates shadow built-in templates: {', '.join(clash)}")

    def resolve(name: str) -> AgentTemplate | None:
        found = first(name)
        return found if found is not None else extra.get(name)

    return resolve


def warn_loaded(directory: Path, templates: dict[str, CommandTemplate]) -> str:
    """Log (loudly, at warning level) that test templates are active; returns the text."""
    message = (
        f"TEST TEMPLATES LOADED from {directory}: {', '.join(sorted(templates)) or 'none'}. "
        "These run arbitrary commands and exist for the fault-injection tests only."
    )
    log.warning(message)
    return message


__all__ = [
    "CommandTemplate",
    "ExtraTemplateFile",
    "chain_resolvers",
    "load_extra_templates",
    "warn_loaded",
]
