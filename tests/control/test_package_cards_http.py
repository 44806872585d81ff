"""Control's dashboard cards mark an instance of an UNVERIFIED package (developer mode),
and show an instance whose package failed launch-time verification as untrusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimolo.ipc.client import request_sync
from operations.packages._corpus import SH_AGENT, build_example

from ._live import OpsProcess, live_control, short_data_root, wait_for

pytestmark = pytest.mark.slow


def _state(socket: Path, instance_id: str) -> str:
    agents = request_sync(socket, "get_agent_states", timeout=30)["agents"]
    return str(next(a["state"] for a in agents if a["instance_id"] == instance_id))


def test_cards_show_unverified_and_untrusted(tmp_path: Path) -> None:
    with short_data_root() as root:
        root.config_path.write_text("[settings]\nheartbeat_interval_s = 1.0\n")
        ops = OpsProcess(root)
        ops.extra_args = ["--developer-mode"]
        ops.start()
        try:
            sock = root.socket_path
            request_sync(sock, "install_package", path=str(build_example(SH_AGENT, tmp_path)))
            request_sync(
                sock,
                "add_agent_instance",
                plugin_id=SH_AGENT,
                instance_label="Shell beat",
                instance_id="beat",
                timeout=60,
            )
            wait_for(lambda: _state(sock, "beat") == "running", "beat running")
            with live_control(root) as control, control.client() as client:
                page = client.get("/").text
                card = page[page.index('data-instance="beat"') :]
                assert 'data-field="verified"' in card.split("</article>")[0]
                assert "UNVERIFIED" in card.split("</article>")[0]
                agent = root.packages_dir / SH_AGENT / "1.0.0" / "agent.sh"
                agent.write_text(agent.read_text() + "# changed\n")
                request_sync(sock, "restart_agent", instance_id="beat", timeout=60)
                wait_for(lambda: _state(sock, "beat") == "untrusted", "beat untrusted")
                wait_for(
                    lambda: 'data-state="untrusted"' in client.get("/").text,
                    "the card to show untrusted",
                )
                card = client.get("/").text.split('data-instance="beat"', 1)[1]
                assert "agent.sh" in card.split("</article>")[0]  # the reason, on the card
        finally:
            ops.stop()
