"""The served registry the handler tests talk to: ``Ops`` and the config it starts from."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import RemoteError
from mimolo.ipc import OpsClient
from mimolo.operations.config_store import ConfigStore
from operations.harness import FAST_SETTINGS, Harness

SETTINGS = "\n".join(f"{k} = {v!r}" for k, v in FAST_SETTINGS.items())
ORIGINAL = f"""\
# Hand-written header: Operations must keep this.
[settings]
{SETTINGS}

# the always-on example
[instances.example-a]
template = "agent_example"
label = "Example A"
enabled = true

[instances.example-a.params]
mode = "active"  # counts as work
"""


@dataclass
class Ops:
    harness: Harness
    client: OpsClient
    store: ConfigStore
    data_root: DataRoot
    shutdown: asyncio.Event

    async def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return await self.client.request(cmd, **fields)

    async def refused(self, cmd: str, **fields: Any) -> RemoteError:
        with pytest.raises(RemoteError) as info:
            await self.client.request(cmd, **fields)
        return info.value

    def audits(self, action: str) -> list[dict[str, Any]]:
        return [r for r in self.harness.diag("audit") if r.get("action") == action]
