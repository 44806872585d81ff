"""The control API's command table: each command's name, fields, handler and aliases.

A handler is a module-level ``async def name(ctx, params)`` taking the context and the
decoded fields struct. Each command family (``handlers.runtime``, ``handlers.agents`` …)
lists its commands in ``COMMANDS``, like a Starlette route list; ``CommandRegistry``
collects the lists with the context the handlers are called with. The socket server knows
nothing about agents: it looks a name up, maps legacy field names (``current_fields``),
decodes the fields into the declared struct and calls ``registry.call``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from mimolo.errors import InvalidField
from mimolo.protocol.config_schema import LEGACY_INSTANCE_KEYS, current_instance_keys

Ctx = TypeVar("Ctx")
P = TypeVar("P", bound=msgspec.Struct)


def current_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with legacy names mapped to today's (both given: an invalid field)."""
    if not LEGACY_INSTANCE_KEYS.keys() & fields.keys():
        return fields
    out, both = current_instance_keys(fields)
    if both:
        new = LEGACY_INSTANCE_KEYS[both[0]]
        raise InvalidField(both[0], f"give {new!r} (or its old name {both[0]!r}), not both")
    return out


class NoParams(msgspec.Struct, forbid_unknown_fields=True):
    """A command that takes no fields."""


@dataclass(frozen=True)
class Command(Generic[Ctx, P]):
    """One command: ``handler(ctx, params)`` with ``params`` decoded into ``params_type``.

    ``mutating`` commands are refused while Operations shuts down; ``aliases`` are older
    names served by the same handler (the answer echoes the name the client sent).
    """

    name: str
    params_type: type[P]
    handler: Callable[[Ctx, P], Awaitable[Any]]
    mutating: bool = False
    aliases: tuple[str, ...] = ()


class CommandRegistry(Generic[Ctx]):
    """Command name (or alias) -> ``Command``, and the context every handler gets."""

    def __init__(self, context: Ctx, commands: Iterable[Command[Ctx, Any]] = ()) -> None:
        self.context = context
        self._commands: dict[str, Command[Ctx, Any]] = {}
        self._aliases: dict[str, str] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command[Ctx, Any]) -> None:
        for name in (command.name, *command.aliases):
            if name in self._commands:
                raise ValueError(f"command {name!r} registered twice")
            self._commands[name] = command
        self._aliases.update(dict.fromkeys(command.aliases, command.name))

    def get(self, name: str) -> Command[Ctx, Any] | None:
        return self._commands.get(name)

    def names(self) -> list[str]:
        """Every name the server answers to, aliases included."""
        return sorted(self._commands)

    def aliases(self) -> dict[str, str]:
        """Alias -> the command's current name."""
        return dict(sorted(self._aliases.items()))

    async def call(self, command: Command[Ctx, P], params: P) -> Any:
        return await command.handler(self.context, params)


__all__ = [
    "Command",
    "CommandRegistry",
    "NoParams",
    "current_fields",
]
