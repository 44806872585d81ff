"""The timeline policy read (never written) from Operations' config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.timeline import policy_from_config

CONFIG = """
[settings]
cooldown_s = 300.0

[instances.folders-a]
template = "client_folder_activity"
label = "Folders A"
client_id = "acme"

[instances.screen]
template = "screen_tracker"
label = "Screen"
"""


def root_with(tmp_path: Path, text: str | bytes | None) -> DataRoot:
    root = DataRoot.resolve(tmp_path)
    if text is not None:
        root.config_path.parent.mkdir(parents=True)
        data = text.encode() if isinstance(text, str) else text
        root.config_path.write_bytes(data)
    return root


def test_reads_cooldown_and_clients(tmp_path: Path) -> None:
    before = CONFIG
    policy, warnings = policy_from_config(root_with(tmp_path, CONFIG))
    assert warnings == []
    assert policy.cooldown_s == 300.0
    assert dict(policy.client_of_instance) == {"folders-a": "acme"}
    assert (tmp_path / "operations" / "agent_config.toml").read_text() == before


def test_explicit_cooldown_wins_even_zero(tmp_path: Path) -> None:
    policy, _ = policy_from_config(root_with(tmp_path, CONFIG), cooldown_s=0)
    assert policy.cooldown_s == 0


def test_missing_file_gives_defaults_without_creating_it(tmp_path: Path) -> None:
    root = root_with(tmp_path, None)
    policy, warnings = policy_from_config(root)
    assert (policy.cooldown_s, dict(policy.client_of_instance), warnings) == (600.0, {}, [])
    assert not root.config_path.exists()


@pytest.mark.parametrize("text", ["[settings\nbroken", b"\xff\xfe not utf-8"])
def test_unreadable_file_gives_defaults_and_a_warning(tmp_path: Path, text: str | bytes) -> None:
    policy, warnings = policy_from_config(root_with(tmp_path, text))
    assert policy.cooldown_s == 600.0
    assert len(warnings) == 1 and "agent_config.toml" in warnings[0]


@pytest.mark.parametrize("value", ["'ten'", "-5", "nan", "true"])
def test_odd_cooldown_values_fall_back(tmp_path: Path, value: str) -> None:
    policy, _ = policy_from_config(root_with(tmp_path, f"[settings]\ncooldown_s = {value}\n"))
    assert policy.cooldown_s == 600.0


def test_a_same_size_rewrite_in_place_is_read_again(tmp_path: Path) -> None:
    root = root_with(tmp_path, CONFIG)
    assert policy_from_config(root)[0].cooldown_s == 300.0
    assert policy_from_config(root)[0].cooldown_s == 300.0  # unchanged bytes: parsed once
    root.config_path.write_text(CONFIG.replace("300.0", "420.0"))  # same size, same inode
    assert policy_from_config(root)[0].cooldown_s == 420.0
    root.config_path.write_text("[settings\nbroken")
    for _ in range(2):  # the warning comes with every read of the same broken bytes
        policy, warnings = policy_from_config(root)
        assert policy.cooldown_s == 600.0 and len(warnings) == 1
