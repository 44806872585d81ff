"""The Operations control socket (DESIGN §7): an AF_UNIX JSON-lines server.

Framing, the envelope and error handling live here; commands come from a
``CommandRegistry`` (the tables in ``handlers/``) so the server knows nothing about
agents. Guarantees: a bad line gets an error answer and the connection lives on; a failing
handler answers ``internal_error``; a peer of another uid is refused; a client that never
reads is dropped once its bounded write buffer stays full past a deadline, never stalling
Operations or other clients; a connection with no request for ``idle_timeout_s`` is closed,
and a full server makes room for a newcomer by closing the longest-idle connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

from mimolo import APP_VERSION, PROTOCOL_VERSION
from mimolo.dataroot import ensure_private_dir
from mimolo.errors import DataRootError, Dropped, MimoloError
from mimolo.ipc.server.connection import Connection, ConnectionTable
from mimolo.ipc.server.registry import Command, CommandRegistry, current_fields
from mimolo.ipc.types import (
    API_VERSION,
    MAX_REQUEST_BYTES,
    SERVER_NAME,
    RequestId,
    Response,
    error_response,
    field_of,
    ok_response,
)

log = logging.getLogger(__name__)

PeerRefusedHook = Callable[[dict[str, Any]], None]

_UCRED: Final = struct.Struct("3i")


class HelloParams(msgspec.Struct, forbid_unknown_fields=True):
    api_version: int = API_VERSION


class IpcServer:
    """Serves one ``CommandRegistry`` on ``socket_path`` until ``aclose``."""

    def __init__(
        self,
        socket_path: Path,
        registry: CommandRegistry[Any],
        *,
        on_peer_refused: PeerRefusedHook | None = None,
        max_line_bytes: int = MAX_REQUEST_BYTES,
        max_inflight: int = 32,
        max_connections: int = 256,
        write_high_water: int = 256 * 1024,
        drain_timeout_s: float = 5.0,
        idle_timeout_s: float = 30.0,
        evict_grace_s: float = 1.0,
        backlog: int = 1024,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.registry = registry
        self.on_peer_refused = on_peer_refused
        self.max_line_bytes = max_line_bytes
        self.max_inflight = max_inflight
        self.max_connections = max_connections
        self.write_high_water = write_high_water
        self.drain_timeout_s = drain_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.backlog = backlog
        self.table = ConnectionTable(max_connections, evict_grace_s=evict_grace_s)
        self.shutting_down = False
        self._closing = False
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        if registry.get("hello") is None:
            registry.add(Command("hello", HelloParams, self._hello))

    async def _hello(self, _ctx: object, params: HelloParams) -> dict[str, Any]:
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
                self._on_connection,
                path=str(self.socket_path),
                limit=self.max_line_bytes,
                backlog=self.backlog,
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

    async def __aenter__(self) -> IpcServer:
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
        conn = Connection(writer, self.write_high_water, self.drain_timeout_s)
        try:
            peer = self._peer(writer)
            if peer is not None and peer[1] != os.geteuid():
                await self._refuse(conn, *peer)
                await self._linger(reader, writer)
                return
            if not self.table.admit(conn):
                log.warning("refused a control connection: %d busy", self.max_connections)
                await conn.send(
                    error_response(None, None, "busy", "too many control connections; retry")
                )
                await self._linger(reader, writer)
                return
            async with asyncio.TaskGroup() as group:
                await self._read_requests(reader, conn, group)
        except* Dropped:
            log.warning("dropped a control client that stopped reading its answers")
        except* (ConnectionError, OSError):
            log.debug("control client went away")
        except* asyncio.CancelledError:
            # Only ``aclose`` cancels connections; end quietly (asyncio's stream callback
            # would log a cancelled connection task as an error).
            if not self._closing:
                raise
        finally:
            self.table.discard(conn)
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

    async def _refuse(self, conn: Connection, pid: int, uid: int) -> None:
        log.warning("refused control connection from pid %d uid %d (not our uid)", pid, uid)
        if self.on_peer_refused is not None:
            try:
                self.on_peer_refused({"pid": pid, "uid": uid})
            except Exception:
                log.exception("peer-refused hook failed")
        await conn.send(
            error_response(None, None, "peer_refused", "connections from other users are refused")
        )

    async def _read_chunk(self, reader: asyncio.StreamReader, conn: Connection) -> bytes:
        """The next bytes from the peer; ``b""`` at EOF or once it has been idle too long.

        A connection waiting for an answer is never idle, however long the handler takes.
        """
        while True:
            wait = self.idle_timeout_s - conn.idle_for()
            if wait <= 0:
                log.debug("closing a control connection idle for %.1f s", conn.idle_for())
                return b""
            try:
                async with asyncio.timeout(wait):
                    return await reader.read(65536)
            except TimeoutError:
                continue  # look again: an answer may have restarted the idle clock

    async def _read_requests(
        self, reader: asyncio.StreamReader, conn: Connection, group: asyncio.TaskGroup
    ) -> None:
        """Split the byte stream into lines (UTF-8 decoded per line) and dispatch each."""
        slots = asyncio.Semaphore(self.max_inflight)
        buf = bytearray()
        discarding = False
        while True:
            chunk = await self._read_chunk(reader, conn)
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
                    conn.begin()
                    await slots.acquire()
                    group.create_task(self._answer(line, conn, slots))
            del buf[:start]
            if len(buf) > self.max_line_bytes:
                if not discarding:
                    await conn.send(self._too_long())
                discarding = True
                buf.clear()
            conn.received(partial=bool(buf) or discarding)

    def _too_long(self) -> Response:
        return error_response(
            None,
            None,
            "line_too_long",
            f"request line exceeds {self.max_line_bytes} bytes; discarded",
        )

    async def _answer(self, line: bytes, conn: Connection, slots: asyncio.Semaphore) -> None:
        try:
            try:
                response = await self.dispatch(line)
            except Exception:
                log.exception("control request could not be dispatched")
                response = error_response(None, None, "internal_error", "request failed")
            await conn.send(response)
        finally:
            conn.end()
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
            params = msgspec.convert(current_fields(fields), command.params_type, strict=True)
        except msgspec.ValidationError as exc:
            return error_response(cmd, request_id, "invalid_field", str(exc), field=field_of(exc))
        except MimoloError as exc:
            return _refused(cmd, request_id, exc)
        try:
            data = await self.registry.call(command, params)
        except MimoloError as exc:
            return _refused(cmd, request_id, exc)
        except Exception:
            log.exception("control command %s failed", cmd)
            return error_response(
                cmd, request_id, "internal_error", f"{cmd} failed; see the Operations log"
            )
        return ok_response(cmd, request_id, {} if data is None else data)


def _refused(cmd: str, request_id: RequestId, exc: MimoloError) -> Response:
    """The error answer for a refusal: its code, message and the field at fault."""
    return error_response(cmd, request_id, exc.code, exc.message, field=exc.field)


__all__ = ["IpcServer"]
