"""One-shot sign-in tokens and the launch file, without a server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mimolo.control.signin import (
    LINK_TTL_S,
    Launch,
    LinkTokens,
    Redeemed,
    launch_path,
    mint_link_token,
    read_launch,
    remove_launch,
    running_launch,
    write_launch,
)
from mimolo.dataroot import DataRoot

SECRET = b"s" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tokens(clock: Clock) -> LinkTokens:
    return LinkTokens(SECRET, clock=clock)


def test_a_token_signs_in_once() -> None:
    links = tokens(Clock())
    token = links.mint()
    assert links.redeem(token) is Redeemed.OK
    assert links.redeem(token) is Redeemed.SPENT
    assert links.redeem(links.mint()) is Redeemed.OK  # a fresh one still works


def test_tokens_expire() -> None:
    clock = Clock()
    links = tokens(clock)
    early, late = links.mint(), links.mint()
    clock.now += LINK_TTL_S
    assert links.redeem(early) is Redeemed.OK  # at the edge: still valid
    clock.now += 1
    assert links.redeem(late) is Redeemed.EXPIRED
    assert links.redeem(early) is Redeemed.EXPIRED  # spent and expired: expired wins


def test_a_token_minted_elsewhere_from_the_secret_is_accepted() -> None:
    # What `mimolo control --new-link` does: mint from launch.json in another process.
    clock = Clock()
    assert tokens(clock).redeem(mint_link_token(SECRET, clock.now - 5)) is Redeemed.OK


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: "x" + t,
        lambda t: t.replace(".", "-", 1),
        lambda t: t.rsplit(".", 1)[0],
        lambda t: ".".join([t.split(".")[0], str(int(t.split(".")[1]) + 1), t.split(".")[2]]),
        lambda t: "",
        lambda t: "..",
        lambda t: "a." + "9" * 5000 + ".b",
        lambda t: "ü.1.ü",
    ],
)
def test_forged_or_mangled_tokens_are_wrong(mangle: Callable[[str], str]) -> None:
    links = tokens(Clock())
    assert links.redeem(mangle(links.mint())) is Redeemed.WRONG


def test_another_launch_secret_is_wrong() -> None:
    clock = Clock()
    assert tokens(clock).redeem(mint_link_token(b"o" * 32, clock.now)) is Redeemed.WRONG


def test_a_token_from_the_future_is_wrong() -> None:
    clock = Clock()
    assert tokens(clock).redeem(mint_link_token(SECRET, clock.now + 3600)) is Redeemed.WRONG


def test_spent_nonces_are_forgotten_once_they_could_no_longer_be_used() -> None:
    clock = Clock()
    links = tokens(clock)
    for _ in range(50):
        assert links.redeem(links.mint()) is Redeemed.OK
    assert len(links._spent) == 50
    clock.now += 2 * LINK_TTL_S
    links.redeem("x")
    assert links._spent == {}


def test_the_launch_file_is_private_and_round_trips(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_launch(root, Launch(secret=SECRET, port=8765, pid=os.getpid()))
    assert os.stat(launch_path(root)).st_mode & 0o777 == 0o600
    assert read_launch(root) == Launch(secret=SECRET, port=8765, pid=os.getpid())
    remove_launch(root, b"x" * 32)  # not ours: kept
    assert read_launch(root) is not None
    remove_launch(root, SECRET)
    assert not launch_path(root).exists()
    assert read_launch(root) is None


def test_a_launch_file_others_can_read_or_a_symlink_is_ignored(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    write_launch(root, Launch(secret=SECRET, port=1, pid=1))
    os.chmod(launch_path(root), 0o644)
    assert read_launch(root) is None
    real = root.root / "elsewhere.json"
    os.replace(launch_path(root), real)
    os.chmod(real, 0o600)
    os.symlink(real, launch_path(root))
    assert read_launch(root) is None
    os.unlink(launch_path(root))
    launch_path(root).write_text("{not json")
    os.chmod(launch_path(root), 0o600)
    assert read_launch(root) is None


def test_running_launch_needs_a_live_process_and_an_open_port(tmp_path: Path) -> None:
    root = DataRoot.resolve(tmp_path / "root").ensure()
    assert running_launch(root) is None
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        write_launch(root, Launch(secret=SECRET, port=port, pid=os.getpid()))
        assert running_launch(root) == Launch(secret=SECRET, port=port, pid=os.getpid())
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        write_launch(root, Launch(secret=SECRET, port=port, pid=dead.pid))
        assert running_launch(root) is None
    write_launch(root, Launch(secret=SECRET, port=port, pid=os.getpid()))
    assert running_launch(root) is None  # nobody listens any more
