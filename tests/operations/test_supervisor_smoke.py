"""Smoke: a good agent runs, flushes into the ledger and stops gracefully."""

from __future__ import annotations

import pytest

from mimolo.dataroot import DataRoot
from operations.harness import ledger_records, make_config, running


@pytest.mark.anyio
async def test_good_agent_lifecycle(data_root: DataRoot) -> None:
    config = make_config({"good": {}})
    async with running(data_root, config) as h:
        state = await h.until_state("good", "running")
        assert state.pid is not None
        await h.supervisor.flush_agent("good")
        await h.until(lambda: h.supervisor.state("good").summaries >= 1)
        stopped = await h.supervisor.stop_agent("good")
        assert stopped.state == "stopped"
    records = ledger_records(data_root)
    assert len(records) == 2
