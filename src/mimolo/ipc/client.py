"""Client for the Operations control socket: async ``OpsClient`` and sync ``request_sync``.

``OpsClient`` keeps one connection open, pipelines requests (answers are matched by
``request_id``), reconnects with capped backoff when Operations comes back, and turns
``ok: false`` answers into ``IpcError`` carrying the server's code. When nothing answers on
the socket it raises ``OperationsUnavailable``: ``NotConnected`` when the request was never
sent (safe to send again), ``ConnectionLost`` when the connection ended after it was sent.
No ``OSError`` escapes a request. The error classes live in ``mimolo.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

import msgspec

from mimolo.backoff import backoff_delay
from mimolo.errors import ConnectionLost, IpcError, NotConnected, RemoteError
from mimolo.ipc.types import MAX_RESPONSE_BYTES, Response, decode_response, encode_line

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = 30.0
_T = TypeVar("_T")
_RESERVED = frozenset({"cmd", "request_id"})


def _check_fields(fields: dict[str, Any]) -> None:
    clash = _RESERVED & fields.keys()
    if clash:
        raise ValueError(f"reserved request field(s): {', '.join(sorted(clash))}")


def _result(response: Response) -> dict[str, Any]:
    """The ``data`` of a success, else the server's error as ``RemoteError``."""
    if not response.ok:
        raise RemoteError(
            response.message or "request failed",
            code=response.error or "ipc_error",
            field=response.field,
        )
    data = response.data
    return data if isinstance(data, dict) else {"value": data}


class OpsClient:
    """A persistent, pipelined connection to Operations.

    Use as ``async with OpsClient(path) as ops: await ops.request("ping")``. Requests from
    many tasks may be in flight at once.
    """

    def __init__(
        self,
        socket_path: Path | str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_attempts: int = 3,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 1.0,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self.connect_attempts = max(1, connect_attempts)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Response]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._connect_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()

    async def __aenter__(self) -> OpsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        """Open the connection (retrying with capped backoff) unless already open."""
        async with self._connect_lock:
            if self.connected:
                return
            last: OSError | None = None
            absent = False
            for attempt in range(self.connect_attempts):
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_unix_connection(
                            str(self.socket_path), limit=MAX_RESPONSE_BYTES + 1024
                        ),
                        timeout=self.timeout,
                    )
                except (OSError, TimeoutError) as exc:
                    last = exc if isinstance(exc, OSError) else OSError(str(exc))
                    absent = isinstance(exc, FileNotFoundError)
                    if attempt + 1 < self.connect_attempts:
                        await asyncio.sleep(
                            backoff_delay(
                                attempt, initial_s=self.backoff_initial_s, max_s=self.backoff_max_s
                            )
                        )
                    continue
                self._reader, self._writer = reader, writer
                self._read_task = asyncio.create_task(self._read_loop(reader))
                return
            raise NotConnected(
                f"Operations is not running (no answer on {self.socket_path}: {last})",
                absent=absent,
            )

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        """Dispatch answers to their waiting requests until the connection ends."""
        reason = "connection closed by Operations"
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    response = decode_response(line)
                except (msgspec.DecodeError, RecursionError):
                    log.warning("ignoring an undecodable answer line")
                    continue
                future = self._pending.pop(str(response.request_id), None)
                if future is not None and not future.done():
                    future.set_result(response)
                elif response.request_id is None and not response.ok:
                    log.warning("Operations refused: %s %s", response.error, response.message)
        except (OSError, ValueError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            self._fail_pending(reason)
            await self._close_writer()

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))

    async def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def request_response(self, cmd: str, **fields: Any) -> Response:
        """Send one request and return the whole answer envelope (ok or not)."""
        _check_fields(fields)
        await self.connect()
        request_id = f"c{next(self._ids)}"
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = encode_line({"cmd": cmd, "request_id": request_id, **fields})
        try:
            async with self._write_lock:
                writer = self._writer
                if writer is None:
                    raise ConnectionLost("connection closed by Operations")
                writer.write(line)
                await asyncio.wait_for(writer.drain(), timeout=self.timeout)
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout)
        except TimeoutError:
            raise IpcError(
                f"no answer to {cmd!r} within {self.timeout:g} s", code="timeout"
            ) from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(f"connection lost: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)

    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one request; return its ``data`` or raise ``IpcError`` with the code."""
        return _result(await self.request_response(cmd, **fields))

    async def request_as(self, cmd: str, type_: type[_T], **fields: Any) -> _T:
        """Like ``request``, with ``data`` converted to ``type_`` (a msgspec Struct …)."""
        return msgspec.convert(await self.request(cmd, **fields), type_)

    async def aclose(self) -> None:
        """Close the connection and wait for the reader task."""
        await self._close_writer()
        task, self._read_task = self._read_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_pending("client closed")


def _connect_sync(socket_path: Path | str, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(socket_path))
    except OSError as exc:
        sock.close()
        absent = isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOENT
        raise NotConnected(
            f"Operations is not running (no answer on {socket_path}: {exc})", absent=absent
        ) from exc
    return sock


def request_response_sync(
    socket_path: Path | str, cmd: str, *, timeout: float = DEFAULT_TIMEOUT_S, **fields: Any
) -> Response:
    """Blocking one-shot request (for the CLI): the whole answer envelope.

    Raises ``NotConnected``, ``ConnectionLost``, or ``IpcError`` (``timeout``,
    ``response_too_large``, an undecodable answer); never a bare ``OSError``.
    """
    _check_fields(fields)
    deadline = time.monotonic() + timeout
    sock = _connect_sync(socket_path, timeout)
    try:
        try:
            sock.sendall(encode_line({"cmd": cmd, "request_id": "sync-1", **fields}))
        except TimeoutError:
            raise IpcError(f"could not send {cmd!r} within {timeout:g} s", code="timeout") from None
        except OSError as exc:
            # A server that refused us (busy) may already have answered and closed.
            return _early_answer(sock, exc)
        line = _read_line(sock, cmd, deadline, timeout)
    finally:
        sock.close()
    try:
        return decode_response(line)
    except msgspec.DecodeError as exc:
        raise IpcError(f"undecodable answer from Operations: {exc}") from exc


def _early_answer(sock: socket.socket, cause: OSError) -> Response:
    """The line a server sent before closing on us, if it did; else ``ConnectionLost``."""
    try:
        sock.settimeout(1.0)
        data = sock.recv(65536)
        return decode_response(data[: data.index(b"\n") + 1])
    except (OSError, ValueError, msgspec.DecodeError):
        raise ConnectionLost(f"connection lost: {cause}") from cause


def _read_line(sock: socket.socket, cmd: str, deadline: float, timeout: float) -> bytes:
    buf = bytearray()
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IpcError(f"no answer to {cmd!r} within {timeout:g} s", code="timeout")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError as exc:
            raise ConnectionLost(f"connection lost: {exc}") from exc
        if not chunk:
            raise ConnectionLost("connection closed by Operations before answering")
        buf += chunk
        if len(buf) > MAX_RESPONSE_BYTES + 1024:
            raise IpcError("answer exceeds the response bound", code="response_too_large")
    return bytes(buf[: buf.index(b"\n") + 1])


def request_sync(
    socket_path: Path | str, cmd: str, *, timeout: float = DEFAULT_TIMEOUT_S, **fields: Any
) -> dict[str, Any]:
    """Blocking one-shot request: ``data`` or ``IpcError`` (``OperationsUnavailable``)."""
    return _result(request_response_sync(socket_path, cmd, timeout=timeout, **fields))


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "OpsClient",
    "request_response_sync",
    "request_sync",
]
