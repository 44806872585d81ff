"""desktop_activity's figures under a real X session (Xvfb + openbox + two xterm windows):
idle CPU and RSS (targets < 0.2 % CPU, < 30 MB) and the CPU cost of 10 focus switches a
second, measured from outside (CPU from /proc schedstat, RSS with psutil).

Idle: the default parameters (one sample a second, heartbeat every 15 s), a focused
window and no input for 60 s (quick: 10 s). Switching: ``sample_interval_s = 0.1`` so the
agent sees every switch, ``xdotool windowactivate`` ten times a second for 30 s (quick:
8 s); the figure is the agent's own CPU, not xdotool's or the X server's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

from benchmarks._core import BenchContext, Figure, Measured, below, log, unmeasured
from benchmarks._idle import idle_cost
from mimolo.process_group import stop_popen
from mimolo.testing import AgentDriver, agent_environment, xvfb_display

NEEDED = ("Xvfb", "openbox", "xterm", "xdotool")
WAIT_S = 30.0
NAME = "desktop_activity"


def _xdotool(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["xdotool", *args], env=env, capture_output=True, timeout=WAIT_S, check=True
    )
    return done.stdout.decode()


@contextlib.contextmanager
def _desktop() -> Iterator[tuple[dict[str, str], list[str]]]:
    """A private display with openbox and two xterms; yields its env and window ids."""
    with xvfb_display() as display:
        env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        env["DISPLAY"] = display
        procs: list[subprocess.Popen[bytes]] = []
        try:

            def spawn(*argv: str) -> None:
                procs.append(
                    subprocess.Popen(
                        list(argv),
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )

            spawn("openbox", "--sm-disable")
            windows = []
            for klass in ("BenchOne", "BenchTwo"):
                spawn("xterm", "-class", klass, "-title", f"{klass} window", "-e", "sleep", "3600")
                found = _xdotool(env, "search", "--sync", "--class", f"^{klass}$")
                windows.append(found.split()[0])
            deadline = time.monotonic() + WAIT_S
            while True:  # openbox manages the windows once it answers an activation
                try:
                    _xdotool(env, "windowactivate", "--sync", windows[0])
                    break
                except subprocess.CalledProcessError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield env, windows
        finally:
            for proc in reversed(procs):
                stop_popen(proc, label="x client", grace_s=5.0)


def _agent(ctx: BenchContext, env: dict[str, str], config: dict[str, object]) -> AgentDriver:
    agent_env = agent_environment(
        ctx.tmp_dir(NAME), plugin_id=NAME, heartbeat_interval_s=15, config=config
    )
    agent_env["DISPLAY"] = env["DISPLAY"]
    agent_env.pop("WAYLAND_DISPLAY", None)
    return AgentDriver([sys.executable, "-m", f"mimolo.agents.{NAME}"], env=agent_env).start()


def _switching(env: dict[str, str], windows: list[str], stop: threading.Event) -> None:
    """Activate the windows in turn, ten times a second, until ``stop``."""
    i = 0
    next_at = time.monotonic()
    while not stop.is_set():
        subprocess.run(
            ["xdotool", "windowactivate", windows[i % 2]],
            env=env,
            capture_output=True,
            timeout=WAIT_S,
            check=False,
        )
        i += 1
        next_at += 0.1
        stop.wait(max(0.0, next_at - time.monotonic()))


def run(ctx: BenchContext) -> list[Figure]:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        reason = f"not installed: {', '.join(missing)} (scripts/bootstrap --test)"
        return [
            unmeasured(f"{NAME} idle CPU", "%", reason, target="< 0.2 %"),
            unmeasured(f"{NAME} idle RSS", "MB", reason, target="< 30 MB"),
            unmeasured(f"{NAME} CPU at 10 focus switches/s", "%", reason),
        ]
    idle_s = float(ctx.scale(full=60, quick=10))
    busy_s = float(ctx.scale(full=30, quick=8))
    figures: list[Figure] = []
    with _desktop() as (env, windows):
        log(f"{NAME}: idle for {idle_s:g} s under Xvfb + openbox")
        driver = _agent(ctx, env, {})
        try:
            cpu, rss = idle_cost({NAME: driver}, idle_s, settle_s=2.0)[NAME]
        finally:
            driver.kill()
        note = f"{idle_s:g} s idle, defaults (1 s sampling, heartbeat 15 s), Xvfb + openbox"
        figures.append(
            Measured(cpu, [cpu]).figure(
                f"{NAME} idle CPU", "%", target="< 0.2 %", verdict=below(cpu, 0.2), notes=note
            )
        )
        figures.append(
            Measured(rss, [rss]).figure(
                f"{NAME} idle RSS",
                "MB",
                target="< 30 MB",
                verdict=below(rss, 30.0),
                notes="peak resident set size over the idle window",
            )
        )
        log(f"{NAME}: 10 focus switches a second for {busy_s:g} s")
        driver = _agent(ctx, env, {"sample_interval_s": 0.1})
        stop = threading.Event()
        switcher = threading.Thread(target=_switching, args=(env, windows, stop), daemon=True)
        try:
            switcher.start()
            busy, _ = idle_cost({NAME: driver}, busy_s, settle_s=2.0)[NAME]
        finally:
            stop.set()
            switcher.join(WAIT_S)
            driver.kill()
        figures.append(
            Measured(busy, [busy]).figure(
                f"{NAME} CPU at 10 focus switches/s",
                "%",
                notes=(
                    f"{busy_s:g} s of xdotool windowactivate every 100 ms, sampling every "
                    "0.1 s (every switch seen); the agent's CPU only"
                ),
            )
        )
    return figures
