"""``mimolo rules list|add|move|remove|test``: the ordered categorization rules.

``list`` and ``test`` read Operations' config (no Operations needed); ``add``, ``move`` and
``remove`` take the rules in force from Operations (``get_rules``) and answer what it
wrote (``set_rules``), so two editors never lose each other's changes silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mimolo.cli.ipc_call import call, data_dir_option, json_option, print_json
from mimolo.cli.review_args import (
    assign_options,
    assignment,
    hours,
    local,
    read_config,
    window,
)
from mimolo.errors import ConfigError
from mimolo.protocol.review import Rule
from mimolo.timeline.policy import policy_from_config
from mimolo.timeline.rules import DEFAULT_CATCH, rule_catch

console = Console(highlight=False)
_F = TypeVar("_F", bound=Callable[..., Any])

_MATCH_KEYS = ("instance_id", "plugin_id", "client_id", "application", "title", "path", "mode")


def match_options(func: _F) -> _F:
    """What a rule matches: every option given must match."""
    options = [
        click.option("--mode", type=click.Choice(["active", "passive"]), help="Activity mode."),
        click.option("--path", "path", help="A glob on any path the summary reports."),
        click.option("--title", help="A regex on the window title (case-insensitive)."),
        click.option("--application", help="A regex on the application or executable."),
        click.option("--match-client", "match_client", help="The evidence's client (glob)."),
        click.option("--plugin", "plugin_id", help="The agent's plugin id (glob)."),
        click.option("--instance", "instance_id", help="The agent instance id (glob)."),
    ]
    for option in options:
        func = option(func)
    return func


def _rule(rule_id: str, label: str, enabled: bool, opts: dict[str, Any]) -> dict[str, Any]:
    match = {
        key: opts["match_client"] if key == "client_id" else opts.get(key) for key in _MATCH_KEYS
    }
    return {
        "rule_id": rule_id,
        "label": label,
        "enabled": enabled,
        "match": {k: v for k, v in match.items() if v is not None},
        "assign": assignment(opts["client_id"], opts["project"], opts["tags"]),
    }


def describe_match(rule: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in rule.get("match", {}).items() if v is not None]
    return ", ".join(parts) or "(everything)"


def describe_assign(assign: dict[str, Any]) -> str:
    parts = [assign.get("client_id") or "", assign.get("project") or ""]
    text = "/".join(p for p in parts if p) or "-"
    tags = assign.get("tags") or []
    return text + (f" [{', '.join(tags)}]" if tags else "")


def _print_rules(view: dict[str, Any], catch: dict[str, float] | None = None) -> None:
    table = Table(title="Categorization rules (first enabled match wins)")
    for name in ("#", "rule", "match", "assign", "enabled", *(["caught"] if catch else [])):
        table.add_column(name, justify="right" if name in ("#", "caught") else "left")
    for i, rule in enumerate(view["rules"], 1):
        name = rule["rule_id"] + (f" ({rule['label']})" if rule.get("label") else "")
        row = [
            str(i),
            escape(name),
            escape(describe_match(rule)),
            escape(describe_assign(rule.get("assign", {}))),
            "yes" if rule.get("enabled", True) else "no",
        ]
        if catch is not None:
            row.append(hours(catch.get(rule["rule_id"], 0.0)))
        table.add_row(*row)
    default = ["", "(default)", "everything else", escape(describe_assign(view["default"])), ""]
    if catch is not None:
        default.append(hours(catch.get(DEFAULT_CATCH, 0.0)))
    table.add_row(*default)
    console.print(table)


def _set(data_dir: Path | None, rules: list[dict[str, Any]], as_json: bool, what: str) -> None:
    view = call(data_dir, "set_rules", rules=rules, via="cli")
    if as_json:
        print_json(view)
        return
    console.print(what)
    _print_rules(view)


def _index(rules: list[dict[str, Any]], rule_id: str) -> int:
    for i, rule in enumerate(rules):
        if rule["rule_id"] == rule_id:
            return i
    raise click.BadParameter(f"no rule {rule_id!r}", param_hint="RULE_ID")


@click.group("rules")
def rules() -> None:
    """Categorization rules: evidence to client / project / tags (first match wins)."""


@rules.command("list")
@json_option
@data_dir_option
def list_rules(as_json: bool, data_dir: Path | None) -> None:
    """The rules in order, as Operations' config holds them (no Operations needed)."""
    read = read_config(data_dir)
    review = read.config.review
    view = {
        "rules": [msgspec.to_builtins(r) for r in review.rules],
        "default": msgspec.to_builtins(review.default),
    }
    if as_json:
        print_json({**view, "warnings": read.warnings})
        return
    for warning in read.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    _print_rules(view)


@rules.command("add")
@click.argument("rule_id")
@match_options
@assign_options
@click.option("--label", default="", help="A name for people.")
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@click.option("--position", type=click.IntRange(min=1), help="Its place (1 = first); default last.")
@json_option
@data_dir_option
def add_rule(
    rule_id: str, label: str, disabled: bool, position: int | None, as_json: bool,
    data_dir: Path | None, **opts: Any,
) -> None:  # fmt: skip
    """Add a rule (through Operations)."""
    current = call(data_dir, "get_rules")["rules"]
    new = _rule(rule_id, label, not disabled, opts)
    at = len(current) if position is None else min(position - 1, len(current))
    current.insert(at, new)
    _set(data_dir, current, as_json, f"added {rule_id} at position {at + 1}")


@rules.command("move")
@click.argument("rule_id")
@click.argument("position", type=click.IntRange(min=1))
@json_option
@data_dir_option
def move_rule(rule_id: str, position: int, as_json: bool, data_dir: Path | None) -> None:
    """Move a rule to POSITION (1 = first): order decides which rule wins."""
    current = call(data_dir, "get_rules")["rules"]
    rule = current.pop(_index(current, rule_id))
    at = min(position - 1, len(current))
    current.insert(at, rule)
    _set(data_dir, current, as_json, f"moved {rule_id} to position {at + 1}")


@rules.command("remove")
@click.argument("rule_id")
@json_option
@data_dir_option
def remove_rule(rule_id: str, as_json: bool, data_dir: Path | None) -> None:
    """Remove a rule (its time falls to the next matching rule or the default)."""
    current = call(data_dir, "get_rules")["rules"]
    current.pop(_index(current, rule_id))
    _set(data_dir, current, as_json, f"removed {rule_id}")


@rules.command("test")
@click.argument("rule_id", required=False)
@match_options
@assign_options
@click.option(
    "--position", type=click.IntRange(min=1), help="Where the candidate goes (default last)."
)
@click.option(
    "--from", "start", metavar="DATE", help="First local day (or ISO time); default this week."
)
@click.option("--to", "end", metavar="DATE", help="Last local day, inclusive (or ISO time).")
@json_option
@data_dir_option
def test_rules(
    rule_id: str | None, position: int | None, start: str | None, end: str | None,
    as_json: bool, data_dir: Path | None, **opts: Any,
) -> None:  # fmt: skip
    """How much time each rule catches in a range (read-only). With match options, a
    candidate rule RULE_ID (default ``candidate``) is tried at --position first."""
    read = read_config(data_dir)
    lo, hi = window(start, end, read.zone)
    assert lo is not None and hi is not None
    review = read.config.review
    rules_list = [msgspec.to_builtins(r) for r in review.rules]
    candidate = any(opts.get(k) for k in (*_MATCH_KEYS[:2], "match_client", *_MATCH_KEYS[3:]))
    if candidate:
        new = _rule(rule_id or "candidate", "", True, opts)
        rules_list.insert(len(rules_list) if position is None else position - 1, new)
    try:
        checked = [msgspec.convert(r, Rule) for r in rules_list]
        policy, _ = policy_from_config(read.root)
        catch = rule_catch(read.root, lo, hi, policy, checked, read.zone, default=review.default)
    except (ConfigError, msgspec.ValidationError) as exc:
        raise click.ClickException(str(exc)) from None
    if rule_id and not candidate:
        _index(rules_list, rule_id)
    view = {"rules": rules_list, "default": msgspec.to_builtins(review.default)}
    if as_json:
        print_json({"start": lo, "end": hi, "timezone": read.zone_name, "caught_s": catch})
        return
    console.print(f"{local(lo, read.zone)} to {local(hi, read.zone)} ({read.zone_name})")
    _print_rules(view, catch)


__all__ = ["rules"]
