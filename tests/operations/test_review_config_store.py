"""``ConfigStore.set_rules``: ``[[review.rules]]`` written with tomlkit, comments and the
rest of ``[review]`` kept, a refused set leaves the file's bytes as they were."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mimolo.errors import RulesInvalid
from mimolo.operations.config_store import ConfigStore
from mimolo.protocol.review import Assignment, Rule, RuleMatch

START = """\
# my notes about this file
[settings]
timezone = "Europe/Berlin"  # where I work

[review]
currency = "EUR"  # billed in euros

[review.clients.acme]
rate = "100"

[[review.rules]]
rule_id = "old"
"""

RULES = (
    Rule(
        rule_id="acme-cad",
        label="ACME drawings",
        match=RuleMatch(application="freecad", title=r"acme.*\.fcstd", mode="active"),
        assign=Assignment(client_id="acme", project="website", tags=("cad", "drawing")),
    ),
    Rule(rule_id="mail", enabled=False, match=RuleMatch(path="/home/*/mail/**")),
    Rule(rule_id="everything-else"),
)


@pytest.fixture
def store(tmp_path: Path) -> ConfigStore:
    path = tmp_path / "agent_config.toml"
    path.write_text(START, encoding="utf-8")
    path.chmod(0o600)
    return ConfigStore(path)


def test_rules_round_trip_and_comments_stay(store: ConfigStore) -> None:
    config = store.set_rules(RULES, Assignment(client_id="internal"))
    assert config.review.rules == RULES
    assert store.load().review.rules == RULES
    assert store.load().review.default == Assignment(client_id="internal")
    text = store.path.read_text(encoding="utf-8")
    assert "# my notes about this file" in text
    assert "# where I work" in text
    assert "# billed in euros" in text
    assert 'rule_id = "old"' not in text
    assert text.count("[[review.rules]]") == 3
    assert store.load().review.clients["acme"].rate == "100"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_an_empty_list_removes_the_rules_and_keeps_the_default(store: ConfigStore) -> None:
    store.set_rules(RULES, Assignment(client_id="internal"))
    config = store.set_rules(())
    assert config.review.rules == ()
    assert config.review.default == Assignment(client_id="internal")
    assert "[[review.rules]]" not in store.path.read_text(encoding="utf-8")


def test_a_file_without_review_gets_one(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "agent_config.toml")
    config = store.set_rules(RULES[:1])
    assert config.review.rules == RULES[:1]
    assert store.load().review.rules == RULES[:1]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ((Rule(rule_id="a", match=RuleMatch(title="(unclosed")),), "review.rules[0].match.title"),
        ((Rule(rule_id="a"), Rule(rule_id="a")), "review.rules[1].rule_id"),
    ],
)
def test_refused_rules_change_nothing(
    store: ConfigStore, rules: tuple[Rule, ...], field: str
) -> None:
    before = store.path.read_bytes()
    with pytest.raises(RulesInvalid) as caught:
        store.set_rules(rules, Assignment(client_id="other"))
    assert caught.value.field == field
    assert caught.value.code == "rules_invalid"
    assert store.path.read_bytes() == before
