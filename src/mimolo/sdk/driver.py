"""Drive any agent command as Operations would: the engine of ``mimolo agent check``.

``AgentDriver`` runs an agent (argv list, no shell) as a real subprocess in its own
process group, decodes every stdout line and sends commands. ``mimolo.testing``
re-exports it for agent authors' own tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from mimolo.errors import LineRejected
from mimolo.process_group import stop_popen
from mimolo.protocol import agent_env as env
from mimolo.protocol.codec import DEFAULT_MAX_LINE_BYTES, decode_message, encode_command
from mimolo.protocol.commands import AgentCommand
from mimolo.protocol.messages import AckMessage, AgentMessage

_STDERR_KEEP: Final = 64 * 1024


@dataclass(frozen=True)
class Line:
    """One stdout line as received: raw bytes, arrival time, decoded message or why not."""

    raw: bytes
    at: float
    message: AgentMessage | None = None
    rejected: LineRejected | None = None

    @property
    def type(self) -> str | None:
        """The message ``type``, or None for a rejected line."""
        return None if self.message is None else message_type(self.message)


def message_type(message: AgentMessage) -> str:
    """The ``type`` tag of a decoded message."""
    return str(message.__struct_config__.tag)


def is_ack(command: str) -> Callable[[Line], bool]:
    """Predicate: an ``ack`` message for ``command``."""
    return lambda line: isinstance(line.message, AckMessage) and line.message.ack_command == command


def is_type(message_type: str) -> Callable[[Line], bool]:
    """Predicate: a valid message of this ``type``."""
    return lambda line: line.type == message_type


def agent_environment(
    data_dir: Path,
    *,
    plugin_id: str = "agent_under_test",
    instance_id: str = "agent-under-test",
    label: str = "Agent under test",
    heartbeat_interval_s: float = 1.0,
    config: Mapping[str, Any] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment Operations gives an agent, rooted in ``data_dir`` (its instance
    folder is created, private)."""
    instance_dir = data_dir / "agents" / plugin_id / instance_id
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    facts = env.SpawnFacts(
        instance_id=instance_id,
        instance_label=label,
        plugin_id=plugin_id,
        data_dir=str(data_dir),
        instance_dir=str(instance_dir),
        params=dict(config or {}),
        heartbeat_interval_s=heartbeat_interval_s,
    )
    return env.agent_environment(facts, os.environ if base is None else base)


class AgentDriver:
    """A small fake Operations around one agent subprocess. Use as a context manager."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if not argv:
            raise ValueError("empty agent command")
        self.argv = list(argv)
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._max = max_line_bytes
        self.lines: list[Line] = []
        self.stderr = bytearray()
        self.started_at = 0.0
        self.stdout_closed_at: float | None = None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.proc: subprocess.Popen[bytes] | None = None

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> AgentDriver:
        """Spawn the agent in a new session (its own process group)."""
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        readers = (
            (self._read_stdout, self.proc.stdout),
            (self._read_stderr, self.proc.stderr),
        )
        for target, stream in readers:
            thread = threading.Thread(target=target, args=(stream,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __enter__(self) -> AgentDriver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        """The agent's pid (also its process group id)."""
        assert self.proc is not None, "agent not started"
        return self.proc.pid

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if still running after ``timeout`` seconds."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close_stdin(self) -> None:
        """Close the agent's stdin (it should exit on EOF)."""
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def kill(self, grace_s: float = 2.0) -> int | None:
        """Close stdin, SIGTERM the process group, SIGKILL after ``grace_s``; reap everything
        (stragglers the agent left in its group included)."""
        proc = self.proc
        if proc is None:
            return None
        self.close_stdin()
        stop_popen(proc, label=f"agent pid {proc.pid}", grace_s=grace_s)
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        return proc.returncode

    # ---- I/O ----------------------------------------------------------------------

    def send(self, command: AgentCommand | Mapping[str, Any]) -> None:
        """Send a command (a protocol type, or a plain dict for hand-made lines)."""
        if isinstance(command, Mapping):
            self.send_raw(json.dumps(dict(command)).encode() + b"\n")
        else:
            self.send_raw(encode_command(command))

    def send_raw(self, data: bytes) -> bool:
        """Write bytes to the agent's stdin; False if it is gone."""
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def _read_stdout(self, stream: IO[bytes]) -> None:
        """Reader thread: decode each stdout line, capping over-long ones."""
        try:
            while True:
                raw = stream.readline(self._max + 1)
                if not raw:
                    break
                if len(raw) > self._max and not raw.endswith(b"\n"):
                    while True:  # drop the rest of the over-long line
                        rest = stream.readline(self._max)
                        if not rest or rest.endswith(b"\n"):
                            break
                    rej = LineRejected("oversized", f"line over {self._max} bytes")
                    self._append(Line(raw=raw[:200], at=time.monotonic(), rejected=rej))
                    continue
                self._append(self._decode(raw.rstrip(b"\r\n")))
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self.stdout_closed_at = time.monotonic()
                self._cond.notify_all()

    def _decode(self, raw: bytes) -> Line:
        """One line, decoded or with its rejection."""
        now = time.monotonic()
        try:
            return Line(raw=raw, at=now, message=decode_message(raw, max_bytes=self._max))
        except LineRejected as exc:
            return Line(raw=raw, at=now, rejected=exc)

    def _read_stderr(self, stream: IO[bytes]) -> None:
        """Reader thread: keep the first 64 KiB of stderr."""
        with contextlib.suppress(OSError, ValueError):
            while chunk := stream.read1(4096):  # type: ignore[attr-defined]
                if len(self.stderr) < _STDERR_KEEP:
                    self.stderr.extend(chunk[: _STDERR_KEEP - len(self.stderr)])

    def _append(self, line: Line) -> None:
        """Store a line and wake waiters."""
        with self._cond:
            self.lines.append(line)
            self._cond.notify_all()

    # ---- waiting --------------------------------------------------------------------

    def mark(self) -> int:
        """An index into ``lines``; pass it as ``after`` to wait only for newer lines."""
        with self._cond:
            return len(self.lines)

    def wait_for(
        self, predicate: Callable[[Line], bool], timeout: float, *, after: int = 0
    ) -> Line | None:
        """The first line at index >= ``after`` matching ``predicate``, waiting up to
        ``timeout`` seconds; None on timeout or when stdout closed without one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[after:]:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stdout_closed_at is not None:
                    return None
                self._cond.wait(remaining)

    def wait_stdout_closed(self, timeout: float) -> bool:
        """Wait until the agent's stdout reached EOF."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.stdout_closed_at is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def messages(self, after: int = 0) -> list[AgentMessage]:
        """The valid messages received so far (from index ``after``)."""
        with self._cond:
            return [line.message for line in self.lines[after:] if line.message is not None]


__all__ = ["AgentDriver", "Line", "agent_environment", "is_ack", "is_type", "message_type"]
