"""The rules editor's body: the ordered rules and the default, as the page sends them.

Pure: the form's ``rules`` and ``default`` (JSON text) in, typed ``Rule``s and an
``Assignment`` out, or a ``RulesInvalid`` whose field names the rule and key at fault
(``rules[2].match.title``) so the page shows it on that row. The same rules then go to
``rule_catch`` (the live counts) or to Operations' ``set_rules`` (saving).
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from mimolo.errors import RulesInvalid
from mimolo.protocol.review import Assignment, Rule
from mimolo.timeline.rules import compile_rules

MAX_RULES: Final = 500
_PATH_RE: Final = re.compile(r"at `\$\[(\d+)\]((?:\.\w+)*)`")


def _field_of(message: str) -> str:
    """``rules[2].match.title`` from msgspec's ``... - at `$[2].match.title```."""
    found = _PATH_RE.search(message)
    if found is None:
        return "rules"
    return f"rules[{found.group(1)}]{found.group(2)}"


def parse_rules(text: str) -> list[Rule]:
    """The editor's rules (a JSON list), checked and compiled."""
    try:
        rules = msgspec.json.decode(text.encode() or b"[]", type=list[Rule])
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at ", 1)[0]
        raise RulesInvalid(message, field=_field_of(str(exc))) from None
    except msgspec.DecodeError:
        raise RulesInvalid("the rules are not valid JSON", field="rules") from None
    if len(rules) > MAX_RULES:
        raise RulesInvalid(f"at most {MAX_RULES} rules", field="rules")
    compile_rules(rules)
    return rules


def parse_default(text: str) -> Assignment:
    """The default assignment (what no rule catches), a JSON object."""
    try:
        return msgspec.json.decode(text.encode() or b"{}", type=Assignment)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RulesInvalid(f"the default is not an assignment ({exc})", field="default") from None


def rules_payload(rules: list[Rule], default: Assignment) -> dict[str, Any]:
    """``set_rules`` fields (plain JSON data)."""
    return {"rules": msgspec.to_builtins(rules), "default": msgspec.to_builtins(default)}


__all__ = ["MAX_RULES", "parse_default", "parse_rules", "rules_payload"]
