"""How CLI commands talk to Operations: one request, clear errors, stable exit codes.

Exit codes: 0 success, 1 Operations refused the request (its code and message are
printed), 2 Operations is not running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import click
import msgspec
from rich.console import Console

from mimolo.dataroot import DataRoot
from mimolo.errors import IpcError, OperationsUnavailable
from mimolo.ipc.client import RemoteError, request_sync

EXIT_REFUSED: Final = 1
EXIT_OPS_DOWN: Final = 2

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


def call(
    data_dir: Path | None, cmd: str, *, timeout: float = 60.0, **fields: Any
) -> dict[str, Any]:
    """One request; on failure print why and exit 1 (refused) or 2 (not running)."""
    try:
        return request_sync(socket_path(data_dir), cmd, timeout=timeout, **fields)
    except OperationsUnavailable:
        err_console.print(
            "[red]Operations is not running[/red] for this data root; "
            "start it with [bold]mimolo ops[/bold].",
        )
        raise SystemExit(EXIT_OPS_DOWN) from None
    except RemoteError as exc:
        shown = exc.field and not exc.message.startswith(exc.field)
        where = f" ({exc.field})" if shown else ""
        err_console.print(f"[red]error[/red] [bold]{exc.code}[/bold]{where}: {exc.message}")
        raise SystemExit(EXIT_REFUSED) from None
    except IpcError as exc:
        err_console.print(f"[red]error[/red] [bold]{exc.code}[/bold]: {exc.message}")
        raise SystemExit(EXIT_REFUSED) from None


def live_status(data_dir: Path | None, *, timeout: float = 5.0) -> dict[str, Any] | None:
    """``get_status`` plus ``get_agent_states`` when Operations runs, else ``None``.

    ``mimolo status`` shows this when it answers, else the on-disk snapshot.
    """
    path = socket_path(data_dir)
    try:
        status = request_sync(path, "get_status", timeout=timeout)
        agents = request_sync(path, "get_agent_states", timeout=timeout)["agents"]
    except OperationsUnavailable:
        return None
    return {"status": status, "agents": agents}


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
    "call",
    "data_dir_option",
    "json_option",
    "live_status",
    "parse_assignments",
    "print_json",
    "socket_path",
]
