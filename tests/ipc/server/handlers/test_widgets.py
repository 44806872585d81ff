"""The widgets family without a bridge: every command is served and says it is unavailable
(the bridged paths run end to end in tests/control/test_widgets_browser.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mimolo.errors import RemoteError
from mimolo.ipc import OpsClient

from .._ops_fakes import full_state, serving, short_root

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("cmd", "fields"),
    [
        ("get_widget_manifest", {"instance_id": "a"}),
        ("request_widget_render", {"instance_id": "a", "width": 300}),
        ("dispatch_widget_action", {"instance_id": "a", "action": "refresh"}),
        ("resolve_artifact_token", {"token": "t"}),
    ],
)
async def test_without_a_bridge_widget_commands_answer_unavailable(
    cmd: str, fields: dict[str, Any]
) -> None:
    with short_root() as root:
        async with serving(root, [full_state("a")]), OpsClient(root.socket_path) as client:
            with pytest.raises(RemoteError) as info:
                await client.request(cmd, **fields)
            assert info.value.code == "widgets_unavailable"
            with pytest.raises(RemoteError) as info:
                await client.request(cmd, bogus=1, **fields)
            assert (info.value.code, info.value.field) == ("invalid_field", "bogus")
