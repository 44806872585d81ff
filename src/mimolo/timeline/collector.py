"""Pausing the cyclic garbage collector around a bulk derivation.

A review allocates hundreds of thousands of small acyclic objects (pieces, tuples,
segments); each allocation burst triggers collections, and every full one walks the
cached year of pieces and finished segments (tens of milliseconds each). Reference
counting frees everything the derivation drops, so nothing waits for the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the collector for the block; enable it again only if it was enabled (with
    threads, the last one out of such a block re-enables it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = ["collector_paused"]
