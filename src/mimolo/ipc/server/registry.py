"""The control API's command table: names, field declarations and handlers.

The server knows nothing about agents; command families (``ipc_runtime``, ``ipc_agents``
…) register here, and the server decodes each request's fields into the declared struct.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from mimolo.errors import MimoloError
from mimolo.protocol.config_schema import LEGACY_INSTANCE_KEYS

Handler = Callable[[Any], Awaitable[Any]]


class InvalidField(MimoloError):
    """A handler's own field check failed; ``key`` names the field."""

    code = "invalid_field"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def current_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with legacy names mapped to today's (both given: an invalid field)."""
    if not LEGACY_INSTANCE_KEYS.keys() & fields.keys():
        return fields
    out = dict(fields)
    for old, new in LEGACY_INSTANCE_KEYS.items():
        if old in out:
            if new in out:
                raise InvalidField(old, f"give {new!r} (or its old name {old!r}), not both")
            out[new] = out.pop(old)
    return out


class NoParams(msgspec.Struct, forbid_unknown_fields=True):
    """A command that takes no fields."""


@dataclass(frozen=True)
class Command:
    """One registered command: its field declaration and its handler."""

    name: str
    params: type[msgspec.Struct]
    handler: Handler
    mutating: bool = False


class CommandRegistry:
    """Command name -> ``Command``. Handlers take the decoded params struct."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(
        self,
        name: str,
        handler: Handler,
        params: type[msgspec.Struct] = NoParams,
        *,
        mutating: bool = False,
    ) -> None:
        if name in self._commands:
            raise ValueError(f"command {name!r} registered twice")
        self._commands[name] = Command(name, params, handler, mutating)

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def names(self) -> list[str]:
        return sorted(self._commands)


__all__ = [
    "Command",
    "CommandRegistry",
    "Handler",
    "InvalidField",
    "NoParams",
    "current_fields",
]
