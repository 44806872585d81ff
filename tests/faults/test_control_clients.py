"""Hostile control clients against the real ``mimolo ops``: 500 connections at once and a
client that pipelines requests and never reads its answers, while an agent floods."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from faults._ops import Pinger, assert_no_orphans, assert_pinger_ok, ipc, wait_states
from faults.conftest import StartOps
from mimolo.cli import cli
from mimolo.dataroot import DataRoot

pytestmark = pytest.mark.slow

CONNECTIONS = 500
INSTANCES = {"chatty": {"mode": "flood", "flood_type": "log"}, "bystander": {"mode": "good"}}


@contextlib.contextmanager
def pinging_connections(root: DataRoot, n: int) -> Iterator[list[socket.socket]]:
    """``n`` connections held open at once, each sending one ping as soon as connected."""
    socks: list[socket.socket] = []
    try:
        for i in range(n):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            socks.append(sock)
            sock.settimeout(30.0)
            sock.connect(str(root.socket_path))
            sock.sendall(json.dumps({"cmd": "ping", "request_id": f"c{i}"}).encode() + b"\n")
        yield socks
    finally:
        for sock in socks:
            sock.close()


def answer(sock: socket.socket) -> dict[str, object]:
    """The first answer line, or why there was none."""
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return {"none": "closed without an answer"}
            buf += chunk
    except OSError as exc:
        return {"none": repr(exc)}
    decoded: dict[str, object] = json.loads(buf.split(b"\n", 1)[0])
    return decoded


def never_reading_client(root: DataRoot) -> socket.socket:
    """Pipelines requests until its own send buffer is full; never reads an answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(root.socket_path))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    request = json.dumps({"cmd": "get_agent_states", "request_id": "hog"}).encode() + b"\n"
    deadline = time.monotonic() + 10.0
    sent = 0
    while time.monotonic() < deadline:
        try:
            sent += sock.send(request * 64)
        except BlockingIOError:
            time.sleep(0.05)
            if sent > 4 * 2**20:
                break
        except OSError:
            break  # Operations already let it go
    return sock


def status_exit_code(root: DataRoot) -> int:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["status", "--data-dir", str(root.root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def test_many_clients_and_a_client_that_never_reads(root: DataRoot, start_ops: StartOps) -> None:
    ops = start_ops(INSTANCES)
    pinger = Pinger(root, ops.pid)
    pinger.start()
    try:
        wait_states(root, dict.fromkeys(INSTANCES, ("running",)))
        hog = never_reading_client(root)
        try:
            with pinging_connections(root, CONNECTIONS) as socks:
                answers = [answer(sock) for sock in socks]
                unanswered = [(i, a["none"]) for i, a in enumerate(answers) if "ok" not in a]
                assert not unanswered, (
                    f"{len(unanswered)} of {CONNECTIONS} connections got no answer line "
                    f"(neither a result nor busy), e.g. {unanswered[:3]}"
                )
                refused = {a.get("error") for a in answers if a.get("ok") is False}
                assert refused <= {"busy"}, refused
                assert any(a.get("ok") is True for a in answers)
                # with every slot taken, `mimolo status` still answers (from the snapshot)
                assert status_exit_code(root) == 0
        finally:
            hog.close()
        time.sleep(1.0)
        assert ipc(root, "ping")["pong"] is True  # a fresh client is served again
        assert status_exit_code(root) == 0
    finally:
        pinger.stop()
    assert ops.shutdown() == 0
    assert_pinger_ok(pinger)
    assert_no_orphans(root)
