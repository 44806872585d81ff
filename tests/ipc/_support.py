"""Helpers for control-socket tests: a registry of test commands and a raw socket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import msgspec

from mimolo.errors import MimoloError
from mimolo.ipc.server.registry import Command, CommandRegistry, NoParams


class EchoParams(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    times: int = 1


class BlobParams(msgspec.Struct, forbid_unknown_fields=True):
    size: int


class SleepParams(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float


async def ping(_: object, __: NoParams) -> dict[str, Any]:
    return {"pong": True}


async def echo(_: object, params: EchoParams) -> dict[str, Any]:
    return {"text": params.text * params.times}


async def boom(_: object, __: NoParams) -> dict[str, Any]:
    raise RuntimeError("handler bug")


async def refuse(_: object, __: NoParams) -> dict[str, Any]:
    raise MimoloError("nope", code="not_running")


async def blob(_: object, params: BlobParams) -> dict[str, Any]:
    return {"blob": "x" * params.size}


async def sleep(_: object, params: SleepParams) -> dict[str, Any]:
    await asyncio.sleep(params.seconds)
    return {"slept": params.seconds}


def make_registry() -> CommandRegistry[object]:
    """Commands that exercise the server: echo, fail, refuse, blob, sleep."""
    return CommandRegistry(
        None,
        [
            Command("ping", NoParams, ping),
            Command("echo", EchoParams, echo),
            Command("boom", NoParams, boom),
            Command("refuse", NoParams, refuse),
            Command("blob", BlobParams, blob),
            Command("sleep", SleepParams, sleep),
            Command("mutate", NoParams, ping, mutating=True),
        ],
    )


class RawClient:
    """A bare socket client: send exact bytes, read answer lines as JSON."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, path: Path) -> RawClient:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=4 * 1024 * 1024)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = 20.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        assert line.endswith(b"\n"), f"connection closed: {line!r}"
        answer = json.loads(line)
        assert isinstance(answer, dict)
        return answer

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        await self.send(json.dumps(request).encode() + b"\n")
        return await self.recv()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
