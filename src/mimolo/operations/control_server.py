"""The Operations control socket (DESIGN §7): an AF_UNIX JSON-lines server.

Framing, the envelope and error handling live here; commands are registered in a
``CommandRegistry`` (``ipc_runtime``, ``ipc_agents``) so the server knows nothing about
agents. Guarantees: a bad line gets an error answer and the connection lives on; a failing
handler answers ``internal_error``; a peer of another uid is refused; a client that never
reads is dropped once its bounded write buffer stays full past a deadline, never stalling
Operations or other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from mimolo import APP_VERSION, PROTOCOL_VERSION
from mimolo.dataroot import ensure_private_dir
from mimolo.errors import DataRootError, MimoloError
from mimolo.ipc.types import (
    API_VERSION,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    SERVER_NAME,
    RequestId,
    Response,
    encode_line,
    error_response,
    field_of,
    ok_response,
)

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Any]]
PeerRefusedHook = Callable[[dict[str, Any]], None]

_UCRED: Final = struct.Struct("3i")


class InvalidField(MimoloError):
    """A handler's own field check failed; ``key`` names the field."""

    code = "invalid_field"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class NoParams(msgspec.Struct, forbid_unknown_fields=True):
    """A command that takes no fields."""


class HelloParams(msgspec.Struct, forbid_unknown_fields=True):
    api_version: int = API_VERSION


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


class _Dropped(Exception):
    """The peer stopped reading; its connection is being dropped."""


class _Connection:
    """The write side of one client: serialized, bounded, with a drain deadline."""

    def __init__(self, writer: asyncio.StreamWriter, high_water: int, drain_s: float) -> None:
        self.writer = writer
        self.high_water = high_water
        self.drain_s = drain_s
        self.lock = asyncio.Lock()
        writer.transport.set_write_buffer_limits(high=high_water)

    async def send(self, response: Response) -> None:
        line = encode_line(response)
        if len(line) > MAX_RESPONSE_BYTES:
            line = encode_line(
                error_response(
                    response.cmd,
                    response.request_id,
                    "response_too_large",
                    f"the answer ({len(line)} bytes) exceeds {MAX_RESPONSE_BYTES} bytes",
                )
            )
        async with self.lock:
            if self.writer.is_closing():
                raise ConnectionResetError("connection closed")
            self.writer.write(line)
            if self.writer.transport.get_write_buffer_size() > self.high_water:
                try:
                    await asyncio.wait_for(self.writer.drain(), timeout=self.drain_s)
                except TimeoutError:
                    self.writer.transport.abort()
                    raise _Dropped from None


class ControlServer:
    """Serves one ``CommandRegistry`` on ``socket_path`` until ``aclose``."""

    def __init__(
        self,
        socket_path: Path,
        registry: CommandRegistry,
        *,
        on_peer_refused: PeerRefusedHook | None = None,
        max_line_bytes: int = MAX_REQUEST_BYTES,
        max_inflight: int = 32,
        max_connections: int = 256,
        write_high_water: int = 256 * 1024,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.registry = registry
        self.on_peer_refused = on_peer_refused
        self.max_line_bytes = max_line_bytes
        self.max_inflight = max_inflight
        self.max_connections = max_connections
        self.write_high_water = write_high_water
        self.drain_timeout_s = drain_timeout_s
        self.shutting_down = False
        self._closing = False
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        if registry.get("hello") is None:
            registry.add("hello", self._hello, HelloParams)

    async def _hello(self, params: HelloParams) -> dict[str, Any]:
        """Version negotiation: what this server speaks."""
        if params.api_version != API_VERSION:
            raise MimoloError(
                f"this Operations speaks API version {API_VERSION}, not {params.api_version}",
                code="unsupported_api_version",
            )
        return {
            "server": SERVER_NAME,
            "app_version": APP_VERSION,
            "api_version": API_VERSION,
            "protocol_version": PROTOCOL_VERSION,
            "commands": self.registry.names(),
        }

    # lifecycle -----------------------------------------------------------------------

    def _remove_stale_socket(self) -> None:
        """Unlink a leftover socket; the caller holds the singleton lock, so it is dead."""
        try:
            st = self.socket_path.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise DataRootError(f"{self.socket_path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1.0)
            probe.connect(str(self.socket_path))
        except OSError:
            log.info("removing stale control socket %s", self.socket_path)
            self.socket_path.unlink()
            return
        finally:
            probe.close()
        raise DataRootError(f"another server answers on {self.socket_path}")

    async def start(self) -> None:
        """Bind the socket, owner-only, and start accepting."""
        ensure_private_dir(self.socket_path.parent)
        self._remove_stale_socket()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._on_connection, path=str(self.socket_path), limit=self.max_line_bytes
            )
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o600)
        log.info("control socket listening on %s", self.socket_path)

    async def aclose(self) -> None:
        """Stop accepting, end every connection, remove the socket file."""
        self.shutting_down = True
        self._closing = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # connections ---------------------------------------------------------------------

    def _peer(self, writer: asyncio.StreamWriter) -> tuple[int, int] | None:
        """(pid, uid) of the peer where the OS tells us (Linux SO_PEERCRED)."""
        sock = writer.get_extra_info("socket")
        opt = getattr(socket, "SO_PEERCRED", None)
        if sock is None or opt is None:
            return None
        pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, opt, _UCRED.size))
        return pid, uid

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        conn = _Connection(writer, self.write_high_water, self.drain_timeout_s)
        try:
            peer = self._peer(writer)
            if peer is not None and peer[1] != os.geteuid():
                await self._refuse(conn, *peer)
                await self._linger(reader, writer)
                return
            if len(self._connections) > self.max_connections:
                log.warning("refused a control connection: %d open", self.max_connections)
                await conn.send(
                    error_response(None, None, "busy", "too many control connections; retry")
                )
                await self._linger(reader, writer)
                return
            async with asyncio.TaskGroup() as group:
                await self._read_requests(reader, conn, group)
        except* _Dropped:
            log.warning("dropped a control client that stopped reading its answers")
        except* (ConnectionError, OSError):
            log.debug("control client went away")
        except* asyncio.CancelledError:
            # Only ``aclose`` cancels connections; end quietly (asyncio's stream callback
            # would log a cancelled connection task as an error).
            if not self._closing:
                raise
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    @staticmethod
    async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close and swallow what the peer already sent (briefly), so our last line
        reaches it instead of a reset."""
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(1.0):
                while await reader.read(65536):
                    pass

    async def _refuse(self, conn: _Connection, pid: int, uid: int) -> None:
        log.warning("refused control connection from pid %d uid %d (not our uid)", pid, uid)
        if self.on_peer_refused is not None:
            try:
                self.on_peer_refused({"pid": pid, "uid": uid})
            except Exception:
                log.exception("peer-refused hook failed")
        await conn.send(
            error_response(None, None, "peer_refused", "connections from other users are refused")
        )

    async def _read_requests(
        self, reader: asyncio.StreamReader, conn: _Connection, group: asyncio.TaskGroup
    ) -> None:
        """Split the byte stream into lines (UTF-8 decoded per line) and dispatch each."""
        slots = asyncio.Semaphore(self.max_inflight)
        buf = bytearray()
        discarding = False
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            scan_from = len(buf)
            buf += chunk
            start = 0
            while True:
                end = buf.find(b"\n", max(start, scan_from))
                if end < 0:
                    break
                line = bytes(buf[start:end])
                start = end + 1
                if discarding:
                    discarding = False
                    continue
                if len(line) > self.max_line_bytes:
                    await conn.send(self._too_long())
                    continue
                if line.strip():
                    await slots.acquire()
                    group.create_task(self._answer(line, conn, slots))
            del buf[:start]
            if len(buf) > self.max_line_bytes:
                if not discarding:
                    await conn.send(self._too_long())
                discarding = True
                buf.clear()

    def _too_long(self) -> Response:
        return error_response(
            None,
            None,
            "line_too_long",
            f"request line exceeds {self.max_line_bytes} bytes; discarded",
        )

    async def _answer(self, line: bytes, conn: _Connection, slots: asyncio.Semaphore) -> None:
        try:
            try:
                response = await self.dispatch(line)
            except Exception:
                log.exception("control request could not be dispatched")
                response = error_response(None, None, "internal_error", "request failed")
            await conn.send(response)
        finally:
            slots.release()

    async def dispatch(self, line: bytes) -> Response:
        """One request line in, one response out. Never raises for bad input."""
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return error_response(None, None, "invalid_json", f"invalid UTF-8: {exc.reason}")
        try:
            request = msgspec.json.decode(line)
        except (msgspec.DecodeError, RecursionError) as exc:
            return error_response(None, None, "invalid_json", f"not JSON: {exc}")
        if not isinstance(request, dict):
            return error_response(None, None, "invalid_json", "a request must be a JSON object")
        cmd = request.pop("cmd", None)
        request_id = request.pop("request_id", None)
        if request_id is not None and (
            isinstance(request_id, bool) or not isinstance(request_id, (str, int))
        ):
            echo = cmd if isinstance(cmd, str) else None
            return error_response(
                echo, None, "invalid_request", "request_id must be a string or an integer"
            )
        if not isinstance(cmd, str) or not cmd:
            return error_response(
                None, request_id, "invalid_request", "a request needs a string `cmd`"
            )
        return await self._run(cmd, request_id, request)

    async def _run(self, cmd: str, request_id: RequestId, fields: dict[str, Any]) -> Response:
        command = self.registry.get(cmd)
        if command is None:
            return error_response(cmd, request_id, "unknown_command", f"no command {cmd!r}")
        if command.mutating and self.shutting_down:
            return error_response(cmd, request_id, "shutting_down", "Operations is shutting down")
        try:
            params = msgspec.convert(fields, command.params, strict=True)
        except msgspec.ValidationError as exc:
            return error_response(cmd, request_id, "invalid_field", str(exc), field=field_of(exc))
        try:
            data = await command.handler(params)
        except MimoloError as exc:
            key = getattr(exc, "key", None)
            return error_response(
                cmd, request_id, exc.code, exc.message, field=key if isinstance(key, str) else None
            )
        except Exception:
            log.exception("control command %s failed", cmd)
            return error_response(
                cmd, request_id, "internal_error", f"{cmd} failed; see the Operations log"
            )
        return ok_response(cmd, request_id, {} if data is None else data)


__all__ = ["Command", "CommandRegistry", "ControlServer", "InvalidField", "NoParams"]
