"""The real command registry on the real socket over a real Supervisor and real agents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.ipc import OpsClient
from mimolo.ipc.server.api import build_server
from mimolo.ipc.server.context import IpcContext
from mimolo.operations.config_store import ConfigStore
from operations.harness import resolver, running

from ._ops import ORIGINAL, Ops


@pytest.fixture
async def ops(data_root: DataRoot) -> AsyncIterator[Ops]:
    """``example-a`` running under a served registry; ``shutdown`` set by the command."""
    data_root.config_path.write_text(ORIGINAL)
    store = ConfigStore(data_root.config_path, resolver)
    shutdown = asyncio.Event()
    async with running(data_root, store.load()) as harness:
        ctx = IpcContext(
            data_root=data_root,
            supervisor=harness.supervisor,
            store=store,
            diagnostics=harness.diagnostics,
            templates=builtin_templates,
            request_shutdown=shutdown.set,
        )
        async with build_server(ctx), OpsClient(data_root.socket_path) as client:
            await harness.until_state("example-a", "running")
            yield Ops(harness, client, store, data_root, shutdown)
