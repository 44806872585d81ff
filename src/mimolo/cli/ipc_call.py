"""How CLI commands talk to Operations: retried requests, clear errors, stable exit codes.

Transient failures (``busy``, a refused or reset connection, a timeout, an answer too
large) are retried briefly (``mimolo.ipc.resilient``); what still fails is one line on
stderr, never a traceback. Exit codes: 0 success, 1 Operations refused the request (its
code and message are printed), 2 Operations is not running or not reachable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

import click
import msgspec
from rich.console import Console
from rich.markup import escape

from mimolo.dataroot import DataRoot
from mimolo.errors import (
    ConnectionLost,
    IpcError,
    NotConnected,
    OperationsUnavailable,
    RemoteError,
)
from mimolo.ipc.resilient import RetryPolicy, request_pages_sync, request_retrying_sync

EXIT_REFUSED: Final = 1
EXIT_OPS_DOWN: Final = 2

# ``mimolo status`` prefers a prompt snapshot to a long wait for a live answer.
STATUS_POLICY: Final = RetryPolicy(attempts=4, initial_s=0.1, max_s=0.5, total_s=3.0)

_F = TypeVar("_F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False)


def data_dir_option(func: _F) -> _F:
    """``--data-dir``: the data root (default: ``MIMOLO_DATA_DIR`` or the user data dir)."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The data root (default: MIMOLO_DATA_DIR or the user data dir).",
    )(func)


def json_option(func: _F) -> _F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def socket_path(data_dir: Path | None) -> Path:
    return DataRoot.resolve(data_dir).socket_path


def explain(exc: IpcError) -> str:
    """One plain line saying why a request failed (no markup)."""
    if isinstance(exc, NotConnected) and exc.absent:
        return "Operations is not running for this data root"
    if isinstance(exc, NotConnected):
        return f"Operations does not accept connections ({exc.message})"
    if isinstance(exc, ConnectionLost):
        return f"the connection to Operations was lost before it answered ({exc.message})"
    if isinstance(exc, RemoteError) and exc.field and not exc.message.startswith(exc.field):
        return f"{exc.code} ({exc.field}): {exc.message}"
    return f"{exc.code}: {exc.message}"


def fail(exc: IpcError) -> NoReturn:
    """Print why ``exc`` happened on one line and exit 2 (unreachable) or 1 (refused)."""
    if isinstance(exc, NotConnected):
        err_console.print(
            "[red]Operations is not running[/red] for this data root; "
            "start it with [bold]mimolo ops[/bold]."
            + ("" if exc.absent else f" [dim]({escape(exc.message)})[/dim]"),
        )
        raise SystemExit(EXIT_OPS_DOWN)
    if isinstance(exc, OperationsUnavailable):
        err_console.print(f"[red]error[/red]: {escape(explain(exc))}")
        raise SystemExit(EXIT_OPS_DOWN)
    code, _, rest = explain(exc).partition(":")
    err_console.print(f"[red]error[/red] [bold]{escape(code)}[/bold]:{escape(rest)}")
    raise SystemExit(EXIT_REFUSED)


def call(
    data_dir: Path | None, cmd: str, *, timeout: float = 60.0, **fields: Any
) -> dict[str, Any]:
    """One request (retried while transient); on failure print why and exit 1 or 2."""
    try:
        return request_retrying_sync(socket_path(data_dir), cmd, timeout=timeout, **fields)
    except IpcError as exc:
        fail(exc)


def call_all(
    data_dir: Path | None, cmd: str, key: str, *, timeout: float = 60.0, **fields: Any
) -> list[Any]:
    """Every item of a paged list answer (``get_agent_states`` …); exits like ``call``."""
    try:
        items = request_pages_sync(socket_path(data_dir), cmd, key, timeout=timeout, **fields)
    except IpcError as exc:
        fail(exc)
    found = items[key]
    assert isinstance(found, list)
    return found


@dataclass(frozen=True)
class LiveStatus:
    """``get_status`` and every ``get_agent_states`` item, or why they could not be had."""

    status: dict[str, Any] | None = None
    agents: list[Any] | None = None
    error: str | None = None


def live_status(
    data_dir: Path | None, *, timeout: float = 5.0, policy: RetryPolicy = STATUS_POLICY
) -> LiveStatus:
    """What Operations answers now; ``error`` says why not (``mimolo status`` then shows
    the snapshot). Never raises for an IPC failure."""
    path = socket_path(data_dir)
    try:
        status = request_retrying_sync(path, "get_status", timeout=timeout, policy=policy)
        agents = request_pages_sync(
            path, "get_agent_states", "agents", timeout=timeout, policy=policy
        )["agents"]
    except IpcError as exc:
        return LiveStatus(error=explain(exc))
    return LiveStatus(status=status, agents=agents)


def print_json(data: Any) -> None:
    """Stable, readable JSON for ``--json``."""
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; ``key=`` means "back to the default" (sent as null)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="PARAMS")
        out[key] = value if value != "" else None
    return out


__all__ = [
    "EXIT_OPS_DOWN",
    "EXIT_REFUSED",
    "STATUS_POLICY",
    "LiveStatus",
    "call",
    "call_all",
    "data_dir_option",
    "explain",
    "fail",
    "json_option",
    "live_status",
    "parse_assignments",
    "print_json",
    "socket_path",
]
