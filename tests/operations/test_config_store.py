"""``ConfigStore``: tomlkit edits keep comments, validate first, write atomically 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.operations.config_store import ConfigStore
from mimolo.protocol.config_schema import InstanceConfig

ORIGINAL = """\
# My MiMoLo setup -- hand-written comments must survive.
[settings]
heartbeat_interval_s = 15.0  # keep this one

# The example we always run
[instances.example-a]
template = "agent_example"
label = "Example A"
enabled = false  # not today

[instances.example-a.params]
mode = "passive"  # context only
"""


@pytest.fixture
def store(data_root: DataRoot) -> ConfigStore:
    data_root.config_path.write_text(ORIGINAL)
    return ConfigStore(data_root.config_path)


def test_load_reads_the_file(store: ConfigStore) -> None:
    config = store.load()
    assert list(config.instances) == ["example-a"]
    assert config.instances["example-a"].params["mode"] == "passive"


def test_add_keeps_comments_and_writes_0600(store: ConfigStore) -> None:
    config = store.add_instance(
        "second",
        InstanceConfig(plugin_id="agent_example", instance_label="Second", params={"seed": 3}),
    )
    text = store.path.read_text()
    assert text.startswith(ORIGINAL.rstrip("\n"))  # nothing before it touched
    assert "[instances.second]" in text
    assert "seed = 3" in text
    assert config.instances["second"].params["seed"] == 3
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_replace_changes_only_what_changed(store: ConfigStore) -> None:
    current = store.load().instances["example-a"]
    updated = InstanceConfig(
        plugin_id=current.plugin_id,
        instance_label="Example A (renamed)",
        enabled=True,
        params={"mode": "passive", "seed": 9},
    )
    store.replace_instance("example-a", updated)
    text = store.path.read_text()
    for comment in ("# My MiMoLo setup", "# keep this one", "# The example we always run"):
        assert comment in text
    assert 'mode = "passive"  # context only' in text  # untouched value keeps its comment
    assert 'label = "Example A (renamed)"' in text
    assert "seed = 9" in text
    assert store.load().instances["example-a"].enabled is True


def test_replace_drops_removed_params_and_none_values(store: ConfigStore) -> None:
    store.replace_instance(
        "example-a",
        InstanceConfig(
            plugin_id="agent_example", instance_label="A", flush_interval_s=None, params={}
        ),
    )
    text = store.path.read_text()
    assert "mode =" not in text
    assert "flush_interval_s" not in text


def test_remove_keeps_the_rest(store: ConfigStore) -> None:
    store.add_instance("b", InstanceConfig(plugin_id="agent_example", instance_label="B"))
    store.remove_instance("example-a")
    text = store.path.read_text()
    assert "[instances.example-a]" not in text
    assert "[instances.b]" in text
    assert "# My MiMoLo setup" in text


@pytest.mark.parametrize(
    ("instance", "key"),
    [
        (InstanceConfig(plugin_id="nope", instance_label="X"), "instances.x.plugin_id"),
        (
            InstanceConfig(plugin_id="agent_example", instance_label="X", params={"seed": -1}),
            "instances.x.params.seed",
        ),
        (
            InstanceConfig(plugin_id="agent_example", instance_label="X", params={"bogus": 1}),
            "instances.x.params.bogus",
        ),
        (
            InstanceConfig(plugin_id="agent_example", instance_label=""),
            "instances.x.instance_label",
        ),
    ],
)
def test_invalid_changes_are_refused_and_nothing_is_written(
    store: ConfigStore, instance: InstanceConfig, key: str
) -> None:
    before = store.path.read_bytes()
    with pytest.raises(ConfigError) as info:
        store.add_instance("x", instance)
    assert info.value.field == key
    assert store.path.read_bytes() == before


def test_duplicate_and_bad_ids_are_refused(store: ConfigStore) -> None:
    with pytest.raises(ConfigError, match="already exists"):
        store.add_instance(
            "example-a", InstanceConfig(plugin_id="agent_example", instance_label="A")
        )
    with pytest.raises(ConfigError) as info:
        store.add_instance("../evil", InstanceConfig(plugin_id="agent_example", instance_label="A"))
    assert info.value.code == "invalid_id"
    with pytest.raises(ConfigError):
        store.remove_instance("absent")
    with pytest.raises(ConfigError):
        store.replace_instance(
            "absent", InstanceConfig(plugin_id="agent_example", instance_label="A")
        )


def test_syntax_error_is_reported_with_the_file(store: ConfigStore) -> None:
    store.path.write_text("[instances\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        store.load()


def test_missing_file_starts_a_commented_document(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "operations" / "agent_config.toml")
    store.add_instance("a", InstanceConfig(plugin_id="agent_example", instance_label="A"))
    text = store.path.read_text()
    assert text.startswith("# MiMoLo agent configuration")
    assert list(store.load().instances) == ["a"]
