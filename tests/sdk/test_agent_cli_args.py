"""An agent's own command line: ``--help`` lists its parameters, ``--param`` sets them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mimolo.errors import ConfigError
from mimolo.protocol import FlushCommand, SummaryMessage
from mimolo.protocol.params import Param
from mimolo.sdk.agent_cli import parse_agent_argv, resolve_config
from mimolo.testing import AgentDriver, agent_environment, is_type
from sdk.corpus import module

PARAMS = (
    Param(name="mode", type="choice", default="a", choices=("a", "b"), help="Which."),
    Param(name="paths", type="str_list", default=[], help="Where."),
    Param(name="rate", type="float", default=1.0, minimum=0, help="How fast."),
)


def test_param_overrides_are_parsed() -> None:
    got = parse_agent_argv("x", "", PARAMS, ["-p", "mode=b", "--param", "paths=a,b", "-p", "rate="])
    assert got == {"mode": "b", "paths": "a,b", "rate": ""}


@pytest.mark.parametrize("bad", [["-p", "mode"], ["-p", "=b"], ["--bogus"]])
def test_malformed_arguments_exit_2(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_agent_argv("x", "", PARAMS, bad)
    assert info.value.code == 2
    assert "usage: x" in capsys.readouterr().err


def test_help_lists_every_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_agent_argv("x", "Does x.", PARAMS, ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Does x." in out
    assert 'mode (one of a, b; default "a"): Which.' in out
    assert "paths (str_list; default []): Where." in out


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMOLO_AGENT_CONFIG", '{"mode": "b", "rate": 2}')
    assert resolve_config(PARAMS, {"rate": "3.5", "paths": "x, y"}) == {
        "mode": "b",
        "paths": ["x", "y"],
        "rate": 3.5,
    }


@pytest.mark.parametrize(
    ("env", "overrides", "key"),
    [
        ("{", {}, "MIMOLO_AGENT_CONFIG"),
        ("[1]", {}, "MIMOLO_AGENT_CONFIG"),
        ("", {"rate": "-1"}, "params.rate"),
        ("", {"speed": "1"}, "params.speed"),
    ],
)
def test_bad_config_names_the_key(
    monkeypatch: pytest.MonkeyPatch, env: str, overrides: dict[str, str], key: str
) -> None:
    monkeypatch.setenv("MIMOLO_AGENT_CONFIG", env)
    with pytest.raises(ConfigError) as info:
        resolve_config(PARAMS, overrides)
    assert info.value.field == key


@pytest.mark.slow
def test_a_real_agent_takes_params_from_its_command_line(tmp_path: Path) -> None:
    env = agent_environment(tmp_path / "root", heartbeat_interval_s=30)
    argv = [*module("mimolo.agents.agent_example"), "-p", "mode=passive", "-p", "client_id=acme"]
    with AgentDriver(argv, env=env) as driver:
        assert driver.wait_for(is_type("handshake"), 30) is not None
        driver.send(FlushCommand())
        line = driver.wait_for(is_type("summary"), 30)
        assert line is not None and isinstance(line.message, SummaryMessage)
        assert line.message.data["client_id"] == "acme"
        assert line.message.data["activity_signal"]["mode"] == "passive"


@pytest.mark.slow
def test_help_runs_without_starting_the_protocol() -> None:
    done = subprocess.run(
        [*module("mimolo.agents.agent_example"), "--help"],
        capture_output=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0
    assert b"activity_probability (float; default 0.7)" in done.stdout
    assert b'"type"' not in done.stdout
