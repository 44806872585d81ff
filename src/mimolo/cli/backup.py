"""``mimolo backup [--to FILE]`` and ``mimolo restore FILE --data-dir D``: the whole data
root in one verified zip, taken while Operations runs, restored only into an empty folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mimolo.backup import default_backup_name, make_backup, restore_backup
from mimolo.dataroot import DataRoot
from mimolo.errors import MimoloError

console = Console(highlight=False, soft_wrap=True)


class _Bar:
    """A rich progress bar in bytes (silent when the output is not a terminal)."""

    def __init__(self, bar: Progress, description: str) -> None:
        self.bar = bar
        self.task = bar.add_task(description, total=None)

    def start(self, total_bytes: int) -> None:
        self.bar.update(self.task, total=max(total_bytes, 1))

    def advance(self, n: int) -> None:
        self.bar.advance(self.task, n)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


@click.command("backup")
@click.option(
    "--to",
    "dest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write [default: mimolo-backup-<UTC time>.zip here].",
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="The data root.")
def backup(dest: Path | None, data_dir: Path | None) -> None:
    """Back up the whole data root (Operations may keep running) into one zip (0600)."""
    root = DataRoot.resolve(data_dir)
    target = dest or Path.cwd() / default_backup_name(datetime.now(UTC))
    try:
        with _progress() as bar:
            manifest = make_backup(root, target, progress=_Bar(bar, "backup"))
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc
    ledger = manifest.ledger
    console.print(
        f"Backed up {len(manifest.files)} files ({_size(manifest.total_bytes)}) of "
        f"{escape(str(root.root))} to {escape(str(target.absolute()))}"
    )
    if ledger.verified:
        console.print(f"Evidence to seq {ledger.last_seq}: the copied chain verifies.")
    else:
        console.print(
            f"[yellow]The copied evidence does not verify ({len(ledger.problems)} problem(s); "
            "`mimolo evidence verify` on the data root names them). The backup keeps it "
            "as it is.[/yellow]"
        )
    console.print("The backup holds the host's private key: keep it as safe as the data root.")


@click.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The data root to restore into: an empty or new folder.",
)
def restore(backup_file: Path, data_dir: Path) -> None:
    """Restore a backup into an empty data root, every file checked against its hash."""
    try:
        with _progress() as bar:
            result = restore_backup(backup_file, data_dir, progress=_Bar(bar, "restore"))
    except MimoloError as exc:
        raise click.ClickException(f"{exc} [{exc.code}]") from exc
    ledger = result.manifest.ledger
    console.print(
        f"Restored {result.files} files ({_size(result.bytes)}) into "
        f"{escape(str(data_dir.absolute()))}; every file matched its sha256."
    )
    if result.report.ok:
        console.print(f"Evidence to seq {ledger.last_seq}: the chain verifies.")
    else:
        console.print(
            f"[yellow]The evidence does not verify ({len(result.report.problems)} problem(s)), "
            "as it did not when the backup was made.[/yellow]"
        )


__all__ = ["backup", "restore"]
