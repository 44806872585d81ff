"""``mimolo ops --extra-templates DIR``: strict loading, no shadowing, a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faults._ops import HOSTILE, write_templates
from mimolo.dataroot import ENV_DATA_DIR, DataRoot
from mimolo.errors import ExtraTemplateError
from mimolo.operations.config import builtin_resolver
from mimolo.operations.extra_templates import (
    CommandTemplate,
    chain_resolvers,
    load_extra_templates,
)

GOOD: dict[str, Any] = {
    "plugin_id": "probe",
    "label": "Probe",
    "version": "1.0.0",
    "argv": [sys.executable, "-c", "pass"],
    "params": [{"name": "mode", "type": "str", "default": "good"}],
}


def write(directory: Path, name: str, spec: object) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(json.dumps(spec))


def test_a_template_runs_exactly_its_argv(tmp_path: Path) -> None:
    write(tmp_path, "probe.json", GOOD)
    templates = load_extra_templates(tmp_path)
    assert set(templates) == {"probe"}
    template = templates["probe"]
    assert isinstance(template, CommandTemplate)
    assert template.argv() == GOOD["argv"]
    assert not template.builtin
    assert not template.verified
    assert [p.name for p in template.params] == ["mode"]


def test_the_chain_resolves_builtins_first_then_extras(tmp_path: Path) -> None:
    write(tmp_path, "probe.json", GOOD)
    resolve = chain_resolvers(builtin_resolver(), load_extra_templates(tmp_path))
    probe = resolve("probe")
    builtin = resolve("agent_example")
    assert probe is not None
    assert probe.plugin_id == "probe"
    assert builtin is not None
    assert builtin.builtin
    assert resolve("nope") is None


def test_an_extra_template_may_not_shadow_a_builtin(tmp_path: Path) -> None:
    write(tmp_path, "x.json", {**GOOD, "plugin_id": "agent_example"})
    with pytest.raises(ExtraTemplateError, match="shadow built-in"):
        chain_resolvers(builtin_resolver(), load_extra_templates(tmp_path))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "label"}, "missing required field `label`"),
        ({**GOOD, "shell": "rm -rf /"}, "unknown field `shell`"),
        ({**GOOD, "argv": "python -c pass"}, "Expected `array`"),
        ({**GOOD, "argv": []}, "at least the executable"),
        ({**GOOD, "argv": ["python", "-c", "pass"]}, "absolute path"),
        ({**GOOD, "argv": [sys.executable, ""]}, "non-empty"),
        ({**GOOD, "plugin_id": "../escape"}, "not a valid id"),
        ({**GOOD, "version": "latest"}, "not semver"),
        ({**GOOD, "params": [{"name": "a", "type": "str"}] * 2}, "declares a name twice"),
        ({**GOOD, "params": [{"name": "a", "type": "blob"}]}, "params"),
        ([1, 2, 3], "Expected `object`"),
    ],
)
def test_a_bad_file_is_a_clear_error_naming_it(tmp_path: Path, spec: object, message: str) -> None:
    write(tmp_path, "bad.json", spec)
    with pytest.raises(ExtraTemplateError, match=r"bad\.json") as info:
        load_extra_templates(tmp_path)
    assert message in str(info.value)
    assert info.value.code == "invalid_extra_template"


def test_invalid_json_and_duplicates_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ExtraTemplateError, match=r"a\.json"):
        load_extra_templates(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(GOOD))
    write(tmp_path, "b.json", GOOD)
    with pytest.raises(ExtraTemplateError, match="defined twice"):
        load_extra_templates(tmp_path)


def test_the_option_is_hidden_and_a_bad_directory_stops_ops(root: DataRoot, tmp_path: Path) -> None:
    env = {**os.environ, ENV_DATA_DIR: str(root.root)}
    helptext = subprocess.run(
        [sys.executable, "-m", "mimolo", "ops", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helptext.returncode == 0
    assert "extra-templates" not in helptext.stdout
    write(tmp_path / "bad", "x.json", {**GOOD, "argv": []})
    done = subprocess.run(
        [sys.executable, "-m", "mimolo", "ops", "--extra-templates", str(tmp_path / "bad")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "invalid extra templates" in done.stdout
    assert "x.json" in done.stdout


def test_the_hostile_template_loads(tmp_path: Path) -> None:
    templates = load_extra_templates(write_templates(tmp_path / "t"))
    assert templates["hostile"].argv() == [sys.executable, str(HOSTILE)]
