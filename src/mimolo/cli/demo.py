"""``mimolo demo-data``: deterministic synthetic evidence to try the timeline and reports.

Synthetic evidence belongs in a data root of its own (``--data-dir`` or
``MIMOLO_DATA_DIR``): it is written straight into the ledger files, as if agents had
reported it. Nothing is added to the config, so no synthetic agent ever runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console

from mimolo.dataroot import DataRoot
from mimolo.timeline.demo import DEMO_CLIENTS, DemoSpec, write_demo


@click.command("demo-data")
@click.option("--days", type=click.IntRange(1, 3660), default=14, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--end",
    "end_day",
    metavar="DATE",
    help="Last day generated (YYYY-MM-DD, UTC); default yesterday.",
)
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    help="Seconds between an agent's summaries.",
)
@click.option("--weekends", is_flag=True, help="Work every day of the week.")
@click.option(
    "--desktop",
    is_flag=True,
    help="Also a desktop_activity instance's summaries (the application lanes).",
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root.")
def demo_data(
    days: int,
    seed: int,
    end_day: str | None,
    interval: int,
    weekends: bool,
    desktop: bool,
    data_dir: Path | None,
) -> None:
    """Write deterministic demo evidence (same seed and dates, same bytes)."""
    try:
        end = date.fromisoformat(end_day) if end_day else datetime.now(UTC).date() - timedelta(1)
    except ValueError:
        raise click.BadParameter(f"{end_day!r} is not YYYY-MM-DD", param_hint="--end") from None
    root = DataRoot.resolve(data_dir).ensure()
    spec = DemoSpec(
        days=days, seed=seed, end=end, interval_s=interval, weekends=weekends, desktop=desktop
    )
    stats = write_demo(root, spec)
    Console().print(
        f"Wrote {stats.summaries} summaries in {stats.files} ledger files "
        f"({stats.first_day} … {stats.last_day}) for clients {', '.join(DEMO_CLIENTS)} "
        f"under {root.evidence_dir}"
    )
