"""``mimolo pause [--minutes N]`` and ``mimolo resume``: the off-the-record pause.

Both go through Operations (``pause_capture`` / ``resume_capture``), which tells every
capturing agent and keeps an audit record; the answer printed is the state in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.operations.capture_pause import MAX_MINUTES

console = Console(highlight=False)


def describe(state: dict[str, Any]) -> str:
    """One line for a person: paused until when (or until resumed), or recording."""
    agents = state.get("agents") or {}
    told = sum(1 for result in agents.values() if result == "acked")
    missed = sorted(iid for iid, result in agents.items() if result != "acked")
    tail = f"; {told} capturing agent(s) acknowledged"
    if missed:
        tail += f", not acknowledged: {', '.join(missed)}"
    if not state.get("paused"):
        return f"recording (no pause in force){tail}"
    if state.get("until") is None:
        return f"recording paused until resumed (`mimolo resume`){tail}"
    minutes = float(state.get("remaining_s") or 0.0) / 60
    return f"recording paused until {state['until']} ({minutes:.0f} min){tail}"


@click.command("pause")
@click.option(
    "--minutes",
    type=click.IntRange(1, MAX_MINUTES),
    default=None,
    help=f"Pause for N minutes (1-{MAX_MINUTES}); without it, until `mimolo resume`.",
)
@json_option
@data_dir_option
def pause(minutes: int | None, as_json: bool, data_dir: Path | None) -> None:
    """Pause recording: capturing agents record nothing identifying until it ends."""
    state = call(data_dir, "pause_capture", minutes=minutes, via="cli")
    if as_json:
        print_json(state)
    else:
        console.print(describe(state))


@click.command("resume")
@json_option
@data_dir_option
def resume(as_json: bool, data_dir: Path | None) -> None:
    """End a recording pause now."""
    state = call(data_dir, "resume_capture", via="cli")
    if as_json:
        print_json(state)
    else:
        console.print(describe(state))


__all__ = ["describe", "pause", "resume"]
