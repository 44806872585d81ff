"""Categorization rules (DESIGN §6): compiled once, matched first-wins, memoized per fact.

``compile_rules`` checks every pattern up front (a malformed regex or a repeated id is a
``RulesInvalid`` naming ``rules[i]...``); ``first_match`` gives a summary's assignment:
the first enabled rule whose every given field matches, else the default. A rule's
client wins over the evidence's; fields it leaves empty keep the evidence's client (a
rule that only tags keeps the client). Without a matching rule the evidence's client is
kept and the default fills what it lacks. ``Classifier`` memoizes per distinct facts, so a
year of summaries costs a dict lookup each, not 200 regex searches.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from mimolo.dataroot import DataRoot
from mimolo.errors import RulesInvalid
from mimolo.protocol.review import Assignment, Rule
from mimolo.timeline.cache import DayCache
from mimolo.timeline.categorize import categorize
from mimolo.timeline.facts import DEFAULT_FACTS, Facts, FactsCache, read_facts
from mimolo.timeline.models import TimelinePolicy, TimelineSummary, to_epoch
from mimolo.timeline.query import DEFAULT_CACHE, read_evidence

DEFAULT_CATCH = ""
"""The ``rule_catch`` key of time no rule catches (an empty string is never a rule id)."""

_NO_FACTS = Facts()


class SummaryFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a rule can match on for one summary."""

    instance_id: str
    plugin_id: str
    client_id: str | None = None  # the evidence's (the summary's, else its instance's)
    mode: str = "passive"
    application: str | None = None
    executable: str | None = None
    title: str | None = None
    paths: tuple[str, ...] = ()


class _Compiled(msgspec.Struct, frozen=True):
    rule_id: str
    assign: Assignment
    instance_id: re.Pattern[str] | None
    plugin_id: re.Pattern[str] | None
    client_id: re.Pattern[str] | None
    application: re.Pattern[str] | None
    title: re.Pattern[str] | None
    path: re.Pattern[str] | None
    mode: str | None

    @property
    def reads_facts(self) -> bool:
        return self.application is not None or self.title is not None or self.path is not None

    def matches_ids(self, f: SummaryFacts) -> bool:
        """Whether the fields other than facts (mode, instance, plugin, client) match."""
        if self.mode is not None and f.mode != self.mode:
            return False
        if self.instance_id is not None and not self.instance_id.match(f.instance_id):
            return False
        if self.plugin_id is not None and not self.plugin_id.match(f.plugin_id):
            return False
        return self.client_id is None or bool(self.client_id.match(f.client_id or ""))

    def matches(self, f: SummaryFacts) -> bool:
        if not self.matches_ids(f):
            return False
        if self.application is not None and not any(
            name is not None and self.application.search(name)
            for name in (f.application, f.executable)
        ):
            return False
        if self.title is not None and (f.title is None or not self.title.search(f.title)):
            return False
        return self.path is None or any(self.path.match(p) for p in f.paths)


class CompiledRules(msgspec.Struct, frozen=True):
    """Enabled rules in order, ready to match; ``needs_facts`` when any reads
    application, title or path (then the facts are read from the ledger)."""

    rules: tuple[_Compiled, ...]
    default: Assignment
    needs_facts: bool
    rule_ids: tuple[str, ...]  # every rule's id, enabled or not, in order
    source: tuple[Rule, ...] = ()  # what they were compiled from (a worker compiles again)


def _glob(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(fnmatch.translate(pattern))


def _regex(pattern: str | None, field: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise RulesInvalid(f"not a valid regular expression ({exc})", field=field) from exc


def compile_rules(rules: Sequence[Rule], default: Assignment | None = None) -> CompiledRules:
    """Check and compile rules (all of them, enabled or not: a disabled rule is kept)."""
    seen: set[str] = set()
    compiled: list[_Compiled] = []
    for i, rule in enumerate(rules):
        if not rule.rule_id:
            raise RulesInvalid("must not be empty", field=f"rules[{i}].rule_id")
        if rule.rule_id in seen:
            raise RulesInvalid(f"{rule.rule_id!r} is used twice", field=f"rules[{i}].rule_id")
        seen.add(rule.rule_id)
        m = rule.match
        one = _Compiled(
            rule_id=rule.rule_id,
            assign=rule.assign,
            instance_id=_glob(m.instance_id),
            plugin_id=_glob(m.plugin_id),
            client_id=_glob(m.client_id),
            application=_regex(m.application, f"rules[{i}].match.application"),
            title=_regex(m.title, f"rules[{i}].match.title"),
            path=_glob(m.path),
            mode=m.mode,
        )
        if rule.enabled:
            compiled.append(one)
    needs = any(
        r.application is not None or r.title is not None or r.path is not None for r in compiled
    )
    return CompiledRules(
        rules=tuple(compiled),
        default=default or Assignment(),
        needs_facts=needs,
        rule_ids=tuple(r.rule_id for r in rules),
        source=tuple(rules),
    )


def first_match(compiled: CompiledRules, facts: SummaryFacts) -> tuple[Assignment, str | None]:
    """The assignment of a summary and the id of the rule that gave it (None: default)."""
    for rule in compiled.rules:
        if rule.matches(facts):
            a = rule.assign
            if a.client_id is None and facts.client_id is not None:
                a = Assignment(client_id=facts.client_id, project=a.project, tags=a.tags)
            return a, rule.rule_id
    d = compiled.default
    if facts.client_id is not None and facts.client_id != d.client_id:
        return Assignment(client_id=facts.client_id, project=d.project, tags=d.tags), None
    return d, None


GroupKey = tuple[str | None, str | None, tuple[str, ...]]
"""``(client_id, project, tags)``: what segments are grouped and billed by."""


def group_key(a: Assignment) -> GroupKey:
    return (a.client_id, a.project, tuple(a.tags))


class Classifier:
    """Places summaries under rules (``categorize``'s classifier), each distinct set of
    facts once: a year of summaries costs a dict lookup each, not 200 regex searches."""

    def __init__(
        self,
        compiled: CompiledRules,
        client_of_instance: Mapping[str, str],
        facts: Mapping[int, Facts] | None = None,
        *,
        by_rule: bool = False,
    ) -> None:
        self.compiled = compiled
        self.client_of = client_of_instance
        self.facts: Mapping[int, Facts] = facts or {}
        self.by_rule = by_rule
        self.memo: dict[tuple[object, ...], tuple[object, str | None, str | None]] = {}

    def resolve(
        self, s: TimelineSummary, facts: Hashable | None
    ) -> tuple[object, str | None, str | None]:
        f = facts if isinstance(facts, Facts) else _NO_FACTS
        client = s.client_id or self.client_of.get(s.instance_id)
        assignment, rule_id = first_match(self.compiled, summary_facts(s, client, f))
        key: object = (rule_id or DEFAULT_CATCH) if self.by_rule else group_key(assignment)
        return (key, assignment.client_id, rule_id)

    def facts_matter(self, s: TimelineSummary) -> bool:
        """Whether a rule reading facts could match summaries like ``s``: without one,
        facts change nothing (a fact rule never matches a summary without facts)."""
        client = s.client_id or self.client_of.get(s.instance_id)
        ids = summary_facts(s, client)
        return any(r.reads_facts and r.matches_ids(ids) for r in self.compiled.rules)


def rule_catch(
    root: DataRoot,
    start: datetime,
    end: datetime,
    policy: TimelinePolicy,
    rules: Sequence[Rule],
    tz: ZoneInfo,
    *,
    default: Assignment | None = None,
    cache: DayCache | None = DEFAULT_CACHE,
    facts_cache: FactsCache | None = DEFAULT_FACTS,
    now: datetime | None = None,
) -> dict[str, float]:
    """Seconds of work each rule catches in ``[start, end)`` (first match wins, as in the
    timeline); every rule is listed (0 when it catches nothing, disabled ones too) and
    ``DEFAULT_CATCH`` holds what no rule catches. ``tz`` is the zone the caller's range
    was cut in (the editor's local week); the figures do not depend on it."""
    del tz  # the range is already UTC; kept so callers state the zone they cut it in
    compiled = compile_rules(rules, default)
    summaries, _ = read_evidence(root, start, end, cache=cache, now=now)
    facts = read_facts(root, start, end, cache=facts_cache) if compiled.needs_facts else None
    classify = Classifier(compiled, policy.client_of_instance, facts, by_rule=True)
    lo, hi = to_epoch(start), to_epoch(end)
    out = dict.fromkeys(compiled.rule_ids, 0.0)
    out[DEFAULT_CATCH] = 0.0
    for seg in categorize(summaries, policy, classify, lo, hi):
        key = str(seg.key)
        out[key] = out.get(key, 0.0) + (seg.end - seg.start)
    return out


def summary_facts(s: TimelineSummary, client: str | None, f: Facts | None = None) -> SummaryFacts:
    """The facts of one summary (for callers that test a rule against one record)."""
    f = f or _NO_FACTS
    return SummaryFacts(
        instance_id=s.instance_id,
        plugin_id=s.plugin_id,
        client_id=client,
        mode=s.mode,
        application=f.application,
        executable=f.executable,
        title=f.title,
        paths=f.paths,
    )


__all__ = [
    "DEFAULT_CATCH",
    "Classifier",
    "CompiledRules",
    "GroupKey",
    "SummaryFacts",
    "compile_rules",
    "first_match",
    "group_key",
    "rule_catch",
    "summary_facts",
]
