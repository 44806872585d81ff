"""``mimolo control`` (the local web app) and ``mimolo up`` (Operations, then Control).

Both print a one-shot sign-in link. When a Control already serves the data root (its
``control/launch.json`` names a live process and port), neither starts another: they print
a fresh link for the running one, minted from the launch secret in that file, as
``mimolo control --new-link`` does (which never starts a server).
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler

from mimolo.dataroot import ENV_DATA_DIR, DataRoot, ensure_private_dir
from mimolo.errors import IpcError, MimoloError

console = Console(stderr=True)
log = logging.getLogger("mimolo.control")

OPS_START_TIMEOUT_S = 30.0


def _setup_logging(root: DataRoot, verbose: bool) -> None:
    """Rich console output plus a rotating ``logs/control.log`` (0600)."""
    ensure_private_dir(root.logs_dir)
    log_file = root.logs_dir / "control.log"
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3)
    os.chmod(log_file, 0o600)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console_handler = RichHandler(console=console, show_path=False, markup=False)
    console_handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        handlers=[console_handler, handler],
        force=True,
    )
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def _headless() -> bool:
    """No display to open a browser on."""
    linux = sys.platform.startswith("linux")
    return linux and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ops_answers(root: DataRoot, timeout: float = 2.0) -> bool:
    """Whether Operations answers ``ping`` on the data root's socket."""
    from mimolo.ipc.client import request_sync

    try:
        request_sync(root.socket_path, "ping", timeout=timeout)
    except (IpcError, OSError):
        return False
    return True


def start_operations(root: DataRoot, timeout: float = OPS_START_TIMEOUT_S) -> int:
    """Start ``python -m mimolo ops`` detached and wait until it answers; return its pid."""
    ensure_private_dir(root.logs_dir)
    env = {**os.environ, ENV_DATA_DIR: str(root.root)}
    log_path = root.logs_dir / "ops-console.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mimolo", "ops"],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ops_answers(root, timeout=1.0):
            return proc.pid
        code = proc.poll()
        if code is not None:
            raise MimoloError(
                f"Operations exited with status {code} while starting; see {log_path}",
                code="ops_start_failed",
            )
        time.sleep(0.2)
    raise MimoloError(
        f"Operations did not answer within {timeout:g} s; see {log_path}", code="ops_start_timeout"
    )


def _give_link(url: str, open_browser: bool) -> None:
    """The sign-in link: on stdout alone (for scripts), and in the browser when asked."""
    from mimolo.control.signin import LINK_TTL_S

    minutes = int(LINK_TTL_S // 60)
    console.print(
        f"Keep this link private: it signs one browser in, once, within {minutes} minutes. "
        "`mimolo control --new-link` prints another."
    )
    click.echo(url)
    if open_browser and not _headless():
        webbrowser.open(url)


def fresh_link(root: DataRoot) -> str | None:
    """A new sign-in link for the Control serving ``root``, or None when none runs."""
    from mimolo.control.server import control_url
    from mimolo.control.signin import mint_link_token, running_launch

    launch = running_launch(root)
    if launch is None:
        return None
    return control_url(launch.port, mint_link_token(launch.secret, time.time()))


def _link_to_running(root: DataRoot, open_browser: bool) -> bool:
    """When a Control already serves ``root``, give a fresh link to it and say True."""
    url = fresh_link(root)
    if url is None:
        return False
    console.print(f"Control is already running on {url.split('?')[0]}; a fresh sign-in link:")
    _give_link(url, open_browser)
    return True


def _ctrl_c_stops() -> None:
    """Ctrl+C (SIGINT) stops Control from the moment its link is printed, also when the
    shell that started it ignores SIGINT (a background job), until the server takes it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_control(root: DataRoot, port: int, open_browser: bool) -> None:
    """Serve Control on 127.0.0.1 until interrupted."""
    from mimolo.control import Auth, bind_loopback, control_url, create_app, serve
    from mimolo.control.signin import Launch, remove_launch, write_launch

    _ctrl_c_stops()
    auth = Auth()
    try:
        sock = bind_loopback(port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
    bound_port = sock.getsockname()[1]
    write_launch(root, Launch(secret=auth.secret, port=bound_port, pid=os.getpid()))
    try:
        url = control_url(bound_port, auth.new_link_token())
        app = create_app(root, auth=auth)
        base = control_url(bound_port)
        console.print(f"[bold]MiMoLo Control[/] on [link={base}]{base}[/link]", soft_wrap=True)
        console.print("Ctrl+C stops Control.")
        _give_link(url, open_browser)
        asyncio.run(serve(app, sock))
    except KeyboardInterrupt:
        pass
    finally:
        remove_launch(root, auth.secret)
        sock.close()


_port = click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
    help="TCP port on 127.0.0.1 (0 picks a free one).",
)  # fmt: skip
_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data root (default: MIMOLO_DATA_DIR or the user data dir).",
)  # fmt: skip
_no_open = click.option("--no-open", is_flag=True, help="Do not open a browser.")
_verbose = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
_team = click.option(
    "--team", "team_conninfo", metavar="CONNINFO", default=None,
    help="Serve the read-only team view of this team store (a libpq conninfo, URI or "
    "service=NAME; '' uses the PG* variables) instead of this machine's ledger.",
)  # fmt: skip
_new_link = click.option(
    "--new-link", is_flag=True,
    help="Print a fresh sign-in link for the running Control (starts nothing).",
)  # fmt: skip


def run_team_control(root: DataRoot, conninfo: str, port: int, open_browser: bool) -> None:
    """Serve the read-only team view on 127.0.0.1 until interrupted (no launch file: the
    data root's own Control and its ``--new-link`` are left alone)."""
    from mimolo.control import Auth, bind_loopback, control_url, create_app, serve
    from mimolo.control.team_source import TeamSource

    _ctrl_c_stops()
    source = TeamSource.connect(conninfo)
    try:
        source.reader.hosts()  # fail now, with libpq's reason, rather than on the first page
    except MimoloError as exc:
        source.close()
        raise click.ClickException(exc.message) from exc
    auth = Auth()
    try:
        sock = bind_loopback(port)
    except OSError as exc:
        source.close()
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
    try:
        app = create_app(root, auth=auth, source=source)
        base = control_url(sock.getsockname()[1])
        console.print(f"[bold]MiMoLo team view[/] (read-only) of {source.label} on {base}")
        console.print("Ctrl+C stops it.")
        _give_link(control_url(sock.getsockname()[1], auth.new_link_token()), open_browser)
        asyncio.run(serve(app, sock))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        source.close()


@click.command("control")
@_port
@_data_dir
@_no_open
@_new_link
@_team
@_verbose
def control(
    port: int,
    data_dir: Path | None,
    no_open: bool,
    new_link: bool,
    team_conninfo: str | None,
    verbose: bool,
) -> None:
    """Serve the Control web app on 127.0.0.1 and print its sign-in link."""
    root = DataRoot.resolve(data_dir).ensure()
    if team_conninfo is not None:
        if new_link:
            raise click.ClickException("--new-link is for the local Control, not --team")
        _setup_logging(root, verbose)
        run_team_control(root, team_conninfo, port, not no_open)
        return
    if new_link:
        url = fresh_link(root)
        if url is None:
            raise click.ClickException(
                "Control is not running for this data root; start it with `mimolo control`"
                " or `mimolo up`."
            )
        console.print(f"A fresh sign-in link for Control on {url.split('?')[0]}:")
        _give_link(url, not no_open)
        return
    _setup_logging(root, verbose)
    if _link_to_running(root, not no_open):
        return
    if not ops_answers(root):
        console.print("[yellow]Operations is not running:[/] Control is read-only until it is.")
    run_control(root, port, not no_open)


@click.command("up")
@_port
@_data_dir
@_no_open
@_verbose
def up(port: int, data_dir: Path | None, no_open: bool, verbose: bool) -> None:
    """Start Operations (if it is not running), then Control."""
    root = DataRoot.resolve(data_dir).ensure()
    _setup_logging(root, verbose)
    if ops_answers(root):
        console.print("Operations is already running.")
    else:
        console.print("Starting Operations…")
        try:
            pid = start_operations(root)
        except MimoloError as exc:
            raise click.ClickException(exc.message) from exc
        console.print(f"Operations is running (pid {pid}); it keeps running after Control stops.")
    if _link_to_running(root, not no_open):
        return
    run_control(root, port, not no_open)


__all__ = [
    "control", "fresh_link", "ops_answers", "run_control", "run_team_control",
    "start_operations", "up",
]  # fmt: skip
