"""Fixtures for the fault-injection suite: a temp data root, the test-only template
directory, and a factory that runs the real ``mimolo ops`` over hostile agents."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from control._live import short_data_root
from faults._ops import FaultOps, kill_all, leftover_processes, write_config, write_templates
from mimolo.dataroot import DataRoot

StartOps = Callable[..., FaultOps]


@pytest.fixture
def root() -> Iterator[DataRoot]:
    """A fresh data root under /tmp (short socket path); every process left under it is
    killed on the way out, whatever the test asserted."""
    with short_data_root() as root:
        try:
            yield root
        finally:
            kill_all(leftover_processes(root))


@pytest.fixture
def templates(root: DataRoot) -> Path:
    return write_templates(root.root.parent / "templates")


@pytest.fixture
def start_ops(root: DataRoot, templates: Path) -> Iterator[StartOps]:
    """``start_ops({iid: params}, **settings)``: write the config, start Operations."""
    started: list[FaultOps] = []

    def start(
        instances: Mapping[str, Mapping[str, Any]] | None = None, **settings: Any
    ) -> FaultOps:
        if instances is not None:
            write_config(root, instances, **settings)
        ops = FaultOps(root, extra_templates=templates).start()
        started.append(ops)
        return ops

    yield start
    for ops in started:
        with contextlib.suppress(Exception):
            ops.kill()
