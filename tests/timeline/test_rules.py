"""Categorization rules: order, first match wins, every match field, bad patterns."""

from __future__ import annotations

import pytest

from mimolo.errors import RulesInvalid
from mimolo.protocol.review import Assignment, Rule, RuleMatch
from mimolo.timeline.rules import SummaryFacts, compile_rules, first_match


def facts(**kw: object) -> SummaryFacts:
    base: dict[str, object] = {"instance_id": "desk", "plugin_id": "desktop_activity"}
    base.update(kw)
    return SummaryFacts(**base)  # type: ignore[arg-type]


def rule(rule_id: str, client: str | None = None, **match: object) -> Rule:
    return Rule(
        rule_id=rule_id,
        match=RuleMatch(**match),  # type: ignore[arg-type]
        assign=Assignment(client_id=client, project=f"{rule_id}-p", tags=(rule_id,)),
    )


def test_first_enabled_match_wins_in_order() -> None:
    rules = [
        rule("off", "x", application="code"),
        rule("code", "acme", application="code"),
        rule("any", "globex"),
    ]
    rules[0] = Rule(rule_id="off", match=rules[0].match, assign=rules[0].assign, enabled=False)
    compiled = compile_rules(rules)
    assert first_match(compiled, facts(application="VS Code")) == (rules[1].assign, "code")
    assert first_match(compiled, facts(application="Firefox"))[1] == "any"
    swapped = compile_rules([rules[2], rules[1]])
    assert first_match(swapped, facts(application="VS Code"))[1] == "any"


def test_every_match_field() -> None:
    compiled = compile_rules(
        [
            rule("inst", "a", instance_id="folders-*"),
            rule("plug", "b", plugin_id="trail_tracker"),
            rule("client", "c", client_id="old-*"),
            rule("exe", "d", application="^blender$"),
            rule("title", "e", title=r"invoice \d+"),
            rule("path", "f", path="acme/*.dwg"),
            rule("mode", "g", mode="passive"),
        ]
    )
    cases = {
        "inst": facts(instance_id="folders-acme", mode="active"),
        "plug": facts(plugin_id="trail_tracker", mode="active"),
        "client": facts(client_id="old-acme", mode="active"),
        "exe": facts(application="Blender 4", executable="blender", mode="active"),
        "title": facts(title="INVOICE 42 - Editor", mode="active"),
        "path": facts(paths=("notes.txt", "acme/site/plan.dwg"), mode="active"),
        "mode": facts(mode="passive"),
    }
    for want, f in cases.items():
        assert first_match(compiled, f)[1] == want


def test_fields_are_anded_and_an_empty_match_matches_everything() -> None:
    compiled = compile_rules([rule("both", "a", application="code", title="acme"), rule("all")])
    assert first_match(compiled, facts(application="code", title="globex"))[1] == "all"
    assert first_match(compiled, facts(application="code", title="ACME site"))[1] == "both"


def test_client_fallbacks() -> None:
    tag_only = Rule(rule_id="tag", match=RuleMatch(mode="active"), assign=Assignment(tags=("x",)))
    default = Assignment(client_id="internal", project="admin")
    compiled = compile_rules([tag_only], default)
    got, rid = first_match(compiled, facts(client_id="acme", mode="active"))
    assert (got.client_id, got.tags, rid) == ("acme", ("x",), "tag")  # evidence client kept
    got, rid = first_match(compiled, facts(client_id="acme", mode="passive"))
    assert (got.client_id, got.project, rid) == ("acme", "admin", None)  # evidence wins
    assert first_match(compiled, facts(mode="passive")) == (default, None)


@pytest.mark.parametrize(
    ("field", "pattern"),
    [("title", "(unclosed"), ("application", "*leading"), ("title", "[z-a]")],
)
def test_malformed_regex_names_its_rule(field: str, pattern: str) -> None:
    with pytest.raises(RulesInvalid) as info:
        compile_rules([rule("fine", application="ok"), rule("bad", **{field: pattern})])
    assert info.value.field == f"rules[1].match.{field}"
    assert info.value.code == "rules_invalid"


def test_duplicate_and_empty_ids() -> None:
    with pytest.raises(RulesInvalid) as info:
        compile_rules([rule("a"), rule("b"), rule("a")])
    assert info.value.field == "rules[2].rule_id"
    with pytest.raises(RulesInvalid):
        compile_rules([Rule(rule_id="")])


def test_facts_needed_only_for_application_title_or_path() -> None:
    assert not compile_rules([rule("a", instance_id="x", mode="active")]).needs_facts
    assert compile_rules([rule("a", path="*.py")]).needs_facts
    off = Rule(rule_id="t", match=RuleMatch(title="x"), enabled=False)
    assert not compile_rules([off]).needs_facts
