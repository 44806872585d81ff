"""Edits of ``operations/agent_config.toml`` that keep the user's comments and layout.

Operations is the only writer. Every edit re-reads the file (so a hand edit made while
Operations runs is not lost), changes only the keys it must through tomlkit, validates the
whole result as an ``AgentConfig`` and replaces the file atomically (0600).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import tomlkit
from tomlkit.items import InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from mimolo.dataroot import write_atomic
from mimolo.errors import ConfigError
from mimolo.operations.config import TemplateResolver, builtin_resolver, validate_config
from mimolo.protocol.config_schema import LEGACY_INSTANCE_KEYS, AgentConfig, InstanceConfig
from mimolo.protocol.review import Assignment, Rule
from mimolo.slugs import check_slug

log = logging.getLogger(__name__)

_HEADER = (
    "MiMoLo agent configuration. Operations edits this file through `mimolo instances`\n"
    "and Control; your comments are kept. Edit by hand only while Operations is stopped."
)


def parse_document(text: str, source: str = "agent_config.toml") -> TOMLDocument:
    """Parse TOML text, reporting syntax errors as ``ConfigError``."""
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}", field=source) from exc


def document_to_config(doc: TOMLDocument, resolve: TemplateResolver) -> AgentConfig:
    """The validated view of a document; an invalid key is named in the error."""
    return validate_config(doc.unwrap(), resolve)


def _instance_table(instance: InstanceConfig) -> Table:
    """A fresh ``[instances.<id>]`` table; ``None`` values are simply absent."""
    table = tomlkit.table()
    for key, value in msgspec.structs.asdict(instance).items():
        if key == "params" or value is None:
            continue
        table.add(key, value)
    params = tomlkit.table()
    for key, value in instance.params.items():
        if value is not None:
            params.add(key, value)
    table.add("params", params)
    return table


def _inline(fields: dict[str, Any]) -> InlineTable:
    """An inline table of the fields that are set (``None`` and empty values are left out)."""
    table = tomlkit.inline_table()
    for key, value in fields.items():
        if value is None or value == () or value == []:
            continue
        table.append(key, list(value) if isinstance(value, tuple) else value)
    return table


def _rule_table(rule: Rule) -> Table:
    """One ``[[review.rules]]`` entry: match and assign as inline tables."""
    table = tomlkit.table()
    table.add("rule_id", rule.rule_id)
    if rule.label:
        table.add("label", rule.label)
    if not rule.enabled:
        table.add("enabled", False)
    match = _inline(msgspec.structs.asdict(rule.match))
    if match:
        table.add("match", match)
    assign = _inline(msgspec.structs.asdict(rule.assign))
    if assign:
        table.add("assign", assign)
    return table


def _set_or_delete(table: Table, key: str, value: Any) -> None:
    if value is None:
        if key in table:
            del table[key]
    elif key not in table or table[key] != value:
        table[key] = value


class ConfigStore:
    """Reads and edits one ``agent_config.toml``."""

    def __init__(self, path: Path, resolve: TemplateResolver | None = None) -> None:
        self.path = Path(path)
        self.resolve = resolve or builtin_resolver()

    def read_document(self) -> TOMLDocument:
        """The current document (a fresh commented one if the file does not exist)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            doc = tomlkit.document()
            for line in _HEADER.splitlines():
                doc.add(tomlkit.comment(line))
            return doc
        except UnicodeDecodeError as exc:
            raise ConfigError("is not UTF-8", field=self.path.name) from exc
        return parse_document(text, self.path.name)

    def load(self) -> AgentConfig:
        return document_to_config(self.read_document(), self.resolve)

    def stored_params(self, instance_id: str) -> dict[str, Any]:
        """The parameters written in the file for one instance (defaults not filled in)."""
        tables = self._instances(self.read_document())
        table = tables.get(instance_id) if tables is not None else None
        params = table.get("params") if isinstance(table, Table) else None
        return dict(params.unwrap()) if isinstance(params, Table) else {}

    def write_document(self, doc: TOMLDocument) -> AgentConfig:
        """Validate and atomically replace the file; returns what was written."""
        config = document_to_config(doc, self.resolve)
        write_atomic(self.path, tomlkit.dumps(doc).encode("utf-8"))
        return config

    @staticmethod
    def _instances(doc: TOMLDocument, *, create: bool = False) -> Table | None:
        table = doc.get("instances")
        if table is None and create:
            table = tomlkit.table(is_super_table=True)
            doc["instances"] = table
        if table is not None and not isinstance(table, Table):
            raise ConfigError("must be a table", field="instances")
        return table

    def add_instance(self, instance_id: str, instance: InstanceConfig) -> AgentConfig:
        """Append a new instance; refuses an id already in use."""
        check_slug(instance_id, "instance_id")
        doc = self.read_document()
        table = self._instances(doc, create=True)
        assert table is not None
        if instance_id in table:
            raise ConfigError("already exists", field=f"instances.{instance_id}", code="invalid_id")
        table[instance_id] = _instance_table(instance)
        return self.write_document(doc)

    def replace_instance(self, instance_id: str, instance: InstanceConfig) -> AgentConfig:
        """Change an instance's keys in place (comments and order of the rest stay)."""
        doc = self.read_document()
        tables = self._instances(doc)
        if tables is None or instance_id not in tables:
            raise ConfigError("no such instance", field=f"instances.{instance_id}")
        table = tables[instance_id]
        if not isinstance(table, Table):
            raise ConfigError("must be a table", field=f"instances.{instance_id}")
        for old in LEGACY_INSTANCE_KEYS:  # an edited instance is written in today's names
            if old in table:
                del table[old]
        for key, value in msgspec.structs.asdict(instance).items():
            if key != "params":
                _set_or_delete(table, key, value)
        params = table.get("params")
        if not isinstance(params, Table):
            params = tomlkit.table()
            table["params"] = params
        for key in [k for k in params if k not in instance.params]:
            del params[key]
        for key, value in instance.params.items():
            _set_or_delete(params, key, value)
        return self.write_document(doc)

    def set_rules(self, rules: Sequence[Rule], default: Assignment | None = None) -> AgentConfig:
        """Replace ``[[review.rules]]`` (and ``review.default`` when given); the rest of
        ``[review]`` and its comments stay. Refused (``rules_invalid``) before writing."""
        doc = self.read_document()
        review = doc.get("review")
        if review is None:
            review = tomlkit.table()
            doc["review"] = review
        if not isinstance(review, Table):
            raise ConfigError("must be a table", field="review")
        if "rules" in review:
            del review["rules"]
        if default is not None:
            assign = _inline(msgspec.structs.asdict(default))
            if assign:
                review["default"] = assign
            elif "default" in review:
                del review["default"]
        if rules:
            aot = tomlkit.aot()
            for rule in rules:
                aot.append(_rule_table(rule))
            review["rules"] = aot
        return self.write_document(doc)

    def remove_instance(self, instance_id: str) -> AgentConfig:
        """Delete an instance's table."""
        doc = self.read_document()
        tables = self._instances(doc)
        if tables is None or instance_id not in tables:
            raise ConfigError("no such instance", field=f"instances.{instance_id}")
        del tables[instance_id]
        return self.write_document(doc)


__all__ = ["ConfigStore", "document_to_config", "parse_document"]
