"""agent_config.toml: first-run default, validation errors that name the key."""

from __future__ import annotations

import stat

import pytest

from mimolo.agents.catalog import builtin_templates
from mimolo.dataroot import DataRoot
from mimolo.errors import ConfigError
from mimolo.operations.config import (
    DEFAULT_INSTANCE_ID,
    TemplateResolver,
    default_config_text,
    load_config,
    parse_config_text,
)
from mimolo.protocol.params import Param
from mimolo.protocol.templates import AgentTemplate

TEMPLATE = AgentTemplate(
    plugin_id="probe",
    label="Probe",
    description="test template",
    version="1.0.0",
    module="tests.operations.agents.probe",
    params=(
        Param(name="interval", type="float", default=1.0, minimum=0.1),
        Param(name="mode", type="choice", default="active", choices=("active", "passive")),
    ),
)


def resolver() -> TemplateResolver:
    return {"probe": TEMPLATE}.get


A = "[instances.a]\ntemplate = 'probe'\nlabel = 'A'\n"

GOOD = """
[settings]
hang_timeout_s = 30

[instances.probe-1]
template = "probe"
label = "Probe one"

[instances.probe-1.params]
interval = "2.5"
"""


def test_first_run_creates_commented_default(data_root: DataRoot) -> None:
    assert not data_root.config_path.exists()
    config = load_config(data_root)
    text = data_root.config_path.read_text()
    assert text.startswith("# MiMoLo Operations configuration")
    assert stat.S_IMODE(data_root.config_path.stat().st_mode) == 0o600
    assert config.settings.heartbeat_interval_s == 15.0
    # every default instance names a built-in that exists
    for inst in config.instances.values():
        assert inst.plugin_id in builtin_templates()
    # the file is stable: loading again gives the same config
    assert load_config(data_root) == config


def test_a_fresh_root_starts_exactly_one_desktop_activity_and_nothing_synthetic(
    data_root: DataRoot,
) -> None:
    config = load_config(data_root)
    assert [(iid, i.plugin_id) for iid, i in config.instances.items()] == [
        (DEFAULT_INSTANCE_ID, "desktop_activity")
    ]
    (inst,) = config.instances.values()
    assert inst.enabled
    assert inst.params == {
        p.name: p.default for p in builtin_templates()["desktop_activity"].params
    }
    assert "agent_example" not in data_root.config_path.read_text()


def test_default_text_never_starts_an_example_agent() -> None:
    example = AgentTemplate(
        plugin_id="agent_example",
        label="Example",
        description="",
        version="1.0.0",
        module="x",
        params=(
            Param(name="mode", type="choice", default="active", choices=("active", "passive")),
        ),
    )
    only_example = {"agent_example": example}
    config = parse_config_text(default_config_text(only_example), only_example.get)
    assert config.instances == {}


def test_valid_config_params_are_canonicalised() -> None:
    config = parse_config_text(GOOD, resolver())
    inst = config.instances["probe-1"]
    assert inst.params == {"interval": 2.5, "mode": "active"}
    assert config.settings.hang_timeout_s == 30


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[settings]\nhang_timeout_s = 'x'\n", "settings.hang_timeout_s"),
        ("[settings]\nbogus = 1\n", "settings.bogus"),
        ("[settings]\nstop_grace_s = -1\n", "settings.stop_grace_s"),
        ("[settings]\nmax_line_bytes = 10\n", "settings.max_line_bytes"),
        ("[instances.a]\nlabel = 'A'\n", "instances.a.plugin_id"),
        ("[instances.a]\ninstance_label = 'A'\n", "instances.a.plugin_id"),
        ("[instances.a]\nplugin_id = 'nope'\ninstance_label = 'A'\n", "instances.a.plugin_id"),
        (
            "[instances.a]\nplugin_id = 'agent_example'\ntemplate = 'agent_example'\nlabel = 'A'\n",
            "instances.a.template",
        ),
        ("[instances.a]\ntemplate = 'nope'\nlabel = 'A'\n", "instances.a.template"),
        ("[instances.Bad_Id]\ntemplate = 'probe'\nlabel = 'A'\n", "instances.Bad_Id"),
        ("[instances.a]\ntemplate = 'probe'\nlabel = ''\n", "instances.a.label"),
        ("[instances.a]\ntemplate = 'probe'\nlabel = 'A'\ncolour = 1\n", "instances.a.colour"),
        (
            "[instances.a]\ntemplate = 'probe'\nlabel = 'A'\nflush_interval_s = 0\n",
            "instances.a.flush_interval_s",
        ),
        (
            "[instances.a]\ntemplate = 'probe'\nlabel = 'A'\nclient_id = '../x'\n",
            "instances.a.client_id",
        ),
        (
            A + "[instances.a.params]\ninterval = 0.01\n",
            "instances.a.params.interval",
        ),
        (
            A + "[instances.a.params]\nmode = 'loud'\n",
            "instances.a.params.mode",
        ),
        (
            A + "[instances.a.params]\nexe = '/bin/sh'\n",
            "instances.a.params.exe",
        ),
    ],
)
def test_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, resolver())
    assert info.value.field == key, str(info.value)
    assert key in str(info.value)


def test_toml_syntax_error_is_clear(data_root: DataRoot) -> None:
    data_root.config_path.write_text("[settings\n")
    with pytest.raises(ConfigError) as info:
        load_config(data_root, resolver())
    assert info.value.code == "config_syntax"
    assert "not valid TOML" in str(info.value)
    # a bad file is never overwritten with the default
    assert data_root.config_path.read_text() == "[settings\n"
