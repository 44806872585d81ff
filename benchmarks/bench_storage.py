"""Artifact storage figures (issue 16): archive and restore throughput, inventory time.

Archive and restore: 1 GB (quick: 100 MB) of screenshot-like PNGs (Pillow-encoded
1280x800 frames of flat panels, text-like stripes and noise, ~0.5-1 MB each, 48 distinct
frames reused across files) in ``YYYY/MM/DD`` folders, archived through
``write_archive`` (hash, zip, fsync, link, read-back verification) and restored with
``restore_archive`` (safe_zip checks, staged extraction, hash check, move into place) into
an emptied ``artifacts/``. MB/s of artifact bytes, page cache warm.

Inventory: 100,000 files (quick: 20,000) over 365 day folders; cold is the first
inventory (no index: every folder listed, every file stat'ed), warm an unchanged tree with
the saved index (one stat per folder). Target for warm: well under a second.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from benchmarks._core import BenchContext, Figure, below, log
from mimolo.operations.artifacts.archive import write_archive
from mimolo.operations.artifacts.inventory import INDEX_NAME, files_of, take_inventory
from mimolo.operations.artifacts.manifest import TimeRange
from mimolo.operations.artifacts.restore import restore_archive

WARM_TARGET_S = 1.0
FRAMES = 48
START = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(seed: int) -> bytes:
    """One screenshot-like PNG: flat panels, stripes of "text", a noisy photo area."""
    rng = random.Random(seed)
    image = Image.new("RGB", (1280, 800), (rng.randrange(256), 230, 235))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(1100), rng.randrange(700)
        draw.rectangle(
            (x, y, x + rng.randrange(80, 400), y + rng.randrange(40, 300)),
            fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)),
        )
    for row in range(40, 780, 14):
        for col in range(20, 1260, rng.randrange(6, 40)):
            draw.line((col, row, col + rng.randrange(3, 30), row), fill=(20, 20, 20))
    noise = Image.frombytes("RGB", (420, 300), rng.randbytes(420 * 300 * 3))
    image.paste(noise, (rng.randrange(800), rng.randrange(450)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _screenshots(instance: Path, total: int) -> int:
    """Write PNG files adding up to about ``total`` bytes; returns the bytes written."""
    frames = [_frame(seed) for seed in range(FRAMES)]
    written = n = 0
    while written < total:
        when = START + timedelta(minutes=10 * n)
        folder = instance / "artifacts" / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = frames[n % FRAMES]
        path = folder / f"{when:%Y%m%dT%H%M%S}Z-{n:06}.png"
        path.write_bytes(body)
        ns = int(when.timestamp() * 1e9)
        os.utime(path, ns=(ns, ns))
        written += len(body)
        n += 1
    return written


def _tiny_tree(instance: Path, files: int) -> None:
    per_day = -(-files // 365)
    old = time.time_ns() - 3600 * 10**9  # folders outside the racy window
    for n in range(files):
        day, index = divmod(n, per_day)
        when = START + timedelta(days=day)
        folder = instance / "artifacts" / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}"
        if index == 0:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (folder / f"{n:07}.png").write_bytes(b"x")
    for path in [instance / "artifacts", *(instance / "artifacts").rglob("*")]:
        if path.is_dir():
            os.utime(path, ns=(old, old))


def run(ctx: BenchContext) -> list[Figure]:
    total = ctx.scale(full=1 << 30, quick=100 << 20)
    instance = ctx.tmp_dir("storage") / "agents" / "screen_tracker" / "shots"
    log(f"writing {total >> 20} MB of screenshot-like PNGs")
    size = _screenshots(instance, total)
    index, _ = take_inventory(instance)
    chosen = list(files_of(index))
    repeats = min(ctx.repeats, 3)
    made: list[str] = []

    def archive() -> float:
        started = time.perf_counter()
        result = write_archive(
            instance,
            chosen,
            plugin_id="screen_tracker",
            instance_id="shots",
            time_range=TimeRange(),
            now=datetime.now(UTC),
        )
        elapsed = time.perf_counter() - started
        made.append(str(instance / result.item.file))
        return size / elapsed / 1e6

    log(f"archiving {len(chosen)} files")
    archived = ctx.median_of(archive, repeats, warmup=0)
    backup = instance.parent / "kept"
    shutil.move(instance / "artifacts", backup)

    def restore() -> float:
        shutil.rmtree(instance / "artifacts", ignore_errors=True)
        started = time.perf_counter()
        result = restore_archive(
            instance, Path(made[0]), plugin_id="screen_tracker", instance_id="shots"
        )
        elapsed = time.perf_counter() - started
        if result.restored != len(chosen):
            raise RuntimeError(f"restored {result.restored} of {len(chosen)} files")
        return size / elapsed / 1e6

    log("restoring into an empty artifacts/")
    restored = ctx.median_of(restore, repeats, warmup=0)

    files = ctx.scale(full=100_000, quick=20_000)
    tree = ctx.tmp_dir("inventory") / "inst"
    log(f"inventory: {files} files over 365 folders")
    _tiny_tree(tree, files)

    def cold() -> float:
        (tree / "index" / INDEX_NAME).unlink(missing_ok=True)
        started = time.perf_counter()
        take_inventory(tree)
        return time.perf_counter() - started

    def warm() -> float:
        started = time.perf_counter()
        _, changed = take_inventory(tree)
        elapsed = time.perf_counter() - started
        if changed:
            raise RuntimeError(f"{changed} folders listed again in an unchanged tree")
        return elapsed

    cold_s = ctx.median_of(cold, warmup=0)
    take_inventory(tree)
    warm_s = ctx.median_of(warm, warmup=1)
    note = f"{len(chosen)} PNGs, {size / 1e6:.0f} MB; page cache warm"
    return [
        archived.figure("artifact archive (write + verify)", "MB/s", notes=note),
        restored.figure("artifact restore (check + verify + place)", "MB/s", notes=note),
        cold_s.figure(
            f"inventory of {files:,} files, cold (no index)",
            "s",
            notes="every folder listed, every file stat'ed",
        ),
        warm_s.figure(
            f"inventory of {files:,} files, warm (unchanged)",
            "s",
            target=f"< {WARM_TARGET_S:g} s" if files >= 100_000 else "",
            verdict=below(warm_s.median, WARM_TARGET_S) if files >= 100_000 else "info",
            notes="saved index: one stat per folder, nothing listed again",
        ),
    ]
